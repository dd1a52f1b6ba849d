"""The closed vocabularies of the event payloads, one `StrEnum` each; values are the contract."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """Who asked for help."""

    FAMILY = "family"
    COMMUNITY = "community"
    SCHOOL_EARLY_WARNING = "school_early_warning"
    HOTLINE = "hotline"
    POLICE = "police"
    SELF = "self"


class Gender(StrEnum):
    """A missing person's or survivor's gender."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class SuspectedExploitation(StrEnum):
    """What a report suspects, before anyone is found."""

    SEXUAL = "sexual"
    LABOUR = "labour"
    UNKNOWN = "unknown"


class Exploitation(StrEnum):
    """What a rescued survivor was exploited for."""

    SEXUAL = "sexual"
    LABOUR = "labour"


class Form(StrEnum):
    """The form the exploitation took."""

    BROTHEL = "brothel"
    FORCED_MARRIAGE = "forced_marriage"
    GARMENT_FACTORY = "garment_factory"
    MINE = "mine"
    FARM = "farm"
    STREET = "street"
    OTHER = "other"


class Reliability(StrEnum):
    """A lead's source reliability, graded A (reliable) to F (cannot be judged)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"


class Venue(StrEnum):
    """The kind of place where people were confirmed to be held."""

    BROTHEL = "brothel"
    HOUSEHOLD = "household"
    FACTORY = "factory"
    MINE = "mine"
    FARM = "farm"
    OTHER = "other"


class AgencyType(StrEnum):
    """The kind of partner agency."""

    POLICE = "police"
    BORDER_GUARD = "border_guard"
    EMBASSY = "embassy"
    NGO = "ngo"
    LABOUR_INSPECTORATE = "labour_inspectorate"
    OTHER = "other"


class Risk(StrEnum):
    """A rescue plan's assessed risk."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Outcome(StrEnum):
    """How a rescue went."""

    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"


class Destination(StrEnum):
    """Where a returned survivor arrived."""

    HOME = "home"
    SHELTER = "shelter"


class Service(StrEnum):
    """A follow-up service given to a survivor."""

    COUNSELLING = "counselling"
    LEGAL_ADVOCACY = "legal_advocacy"
    COURT_REPRESENTATION = "court_representation"
    SHELTER = "shelter"
    HEALTHCARE = "healthcare"
    EDUCATION = "education"
    VOCATIONAL_TRAINING = "vocational_training"
    JOB_PLACEMENT = "job_placement"


class Phase(StrEnum):
    """A step of the prosecution."""

    COMPLAINT_FILED = "complaint_filed"
    ARREST = "arrest"
    INDICTMENT = "indictment"
    TRIAL = "trial"
    VERDICT = "verdict"
    APPEAL = "appeal"


class CloseReason(StrEnum):
    """Why an operation was closed."""

    SURVIVORS_INDEPENDENT = "survivors_independent"
    UNFOUNDED = "unfounded"
    TRANSFERRED = "transferred"
    OTHER = "other"
