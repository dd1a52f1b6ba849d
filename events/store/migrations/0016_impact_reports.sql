-- Impact reports: figures by home province, and the time from report to rescue and from rescue
-- to return. The survivors' rows gain the home province; the operation's report time and each
-- survivor's return are kept beside them.
--
-- Rows already projected lack the province, so the impact projection is emptied with its
-- checkpoint: a missing checkpoint is the start of the log, and the runner replays it.
DELETE FROM impact_survivors;
DELETE FROM impact_services;
DELETE FROM impact_prosecutions;
DELETE FROM impact_verdicts;
DELETE FROM projection_checkpoints WHERE name = 'impact';

ALTER TABLE impact_survivors ADD COLUMN home_province text;

-- When each operation was reported (its CaseReported).
CREATE TABLE impact_reports (
    operation_id uuid PRIMARY KEY,
    reported_at timestamptz NOT NULL
);

-- One row per survivor and SurvivorReturned (as corrected): a survivor's return is her first
-- at or after her first rescue.
CREATE TABLE impact_returns (
    event_id uuid NOT NULL,
    survivor_id uuid NOT NULL,
    destination text NOT NULL,
    returned_at timestamptz NOT NULL,
    PRIMARY KEY (event_id, survivor_id)
);
CREATE INDEX impact_returns_survivor ON impact_returns (survivor_id, returned_at);
