"""Importing an organisation's historical rescue records from a spreadsheet export.

`coordinator import-csv FILE` reads a CSV with one row per rescued survivor and turns each
operation (the rows sharing an operation reference) into an operation stream.

Columns (headers compare case-insensitively, spaces, hyphens and underscores alike; other
spellings in `sheet.SPELLINGS`; columns not listed, such as names or notes, are ignored):

| column              | also read as                    | value                                |
| ------------------- | ------------------------------- | ------------------------------------ |
| `operation_ref` *   | case no, reference, ref, op ref | the organisation's reference         |
| `survivor_ref`      | survivor, survivor no, person no| the survivor within the operation    |
| `reported_on`       | date reported, report date      | date; empty: the rescue day          |
| `rescued_on` *      | date rescued, rescue date       | date, the same on every row of an op |
| `returned_on`       | date returned, return date      | date, needed if the outcome returned |
| `reunited_on`       | date reunited, reunion date     | date; empty: the return day          |
| `closed_on`         | date closed, close date         | date: the operation closed           |
| `channel`           | reported by, referred by        | family, community, school early      |
|                     |                                 | warning, hotline, police, self       |
| `found_in_country` *| country, country found in      | VN, CN, MM... or Vietnam, China...   |
| `gender` *          | sex                             | female, male, other (F, M, girl...)  |
| `age_at_rescue` *   | age                             | whole years, 0 to 120                |
| `exploitation` *    | exploitation type               | sexual or labour (sex, labor...)     |
| `form`              | form of exploitation, sold into | brothel, forced marriage (bride),    |
|                     |                                 | garment factory (sweatshop), mine,   |
|                     |                                 | farm, street, other                  |
| `home_province`     | province, hometown              | text                                 |
| `outcome`           | result, current status          | rescued (or empty), returned home,   |
|                     |                                 | shelter, reunited                    |

`*` required. Dates are `2019-03-14`, `14/03/2019` (day first), `14.03.2019`, `14 Mar 2019`, or
an ISO time with its zone; a calendar day is recorded as noon that day at `--utc-offset`
(default +07:00). `reported_on`, `closed_on` and `channel` may be filled on one row of an
operation only; rows that fill an operation's field must agree.

Each operation becomes: `CaseReported` (channel), a `LocationConfirmed` per country survivors
were found in, `RescueExecuted` (success, every survivor), per survivor `SurvivorReturned`
(home or shelter) and `FamilyReunited` as the outcome says, and `OperationClosed`
(survivors independent) when `closed_on` is set. How history that skipped the live stages is
recorded, and why, is in `history.py`. Ids derive from `--organisation`, the references and
the row's survivor reference (or its place among its operation's rows), so re-running appends
nothing. Modules, in the order a run uses them: `sheet` (header and rows), `cells` (one
cell), `operations` (rows to operations), `history` (operations to events, by the rules),
`importer` (append and compare), `report`, `command`.
"""
