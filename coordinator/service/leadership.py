"""What leadership does not see of an operation: who did the work, and who each survivor is.

Leadership steers from figures and stages. Staff names (`lead_investigator`, `planned_by`,
`approved_by`, who recorded each event) and each survivor's details (province, age, gender,
form, ethnic group, the missing person she is) could identify a girl or expose a colleague when
a board is left open on a screen; they are shown as null to the leadership role.
"""

from __future__ import annotations

from typing import Any

STAFF_FIELDS = ("lead_investigator", "planned_by", "approved_by")
SURVIVOR_DETAILS = (
    "gender",
    "age_at_rescue",
    "age_estimated",
    "home_province",
    "form",
    "ethnic_group",
    "missing_person_id",
)


def survivor_without_details(survivor: dict[str, Any]) -> dict[str, Any]:
    """A survivor as leadership sees her: her id, status and where she was found."""
    return {**survivor, **{field: None for field in SURVIVOR_DETAILS if field in survivor}}


def operation_for_leadership(view: dict[str, Any]) -> dict[str, Any]:
    """An operation's answer without staff names or survivors' details."""
    return {
        **view,
        **dict.fromkeys(STAFF_FIELDS),
        "survivors": [survivor_without_details(s) for s in view["survivors"]],
        "timeline": [{**entry, "recorded_by": None} for entry in view["timeline"]],
    }
