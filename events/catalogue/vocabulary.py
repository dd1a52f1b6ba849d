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
    SOCIAL_MEDIA = "social_media"


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
    WOMENS_UNION = "womens_union"
    PROCURACY = "procuracy"
    COURT = "court"
    SOCIAL_AFFAIRS = "social_affairs"
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
    HANDED_TO_AFTERCARE = "handed_to_aftercare"
    OTHER = "other"


class Recovery(StrEnum):
    """How a survivor came to the organisation without its own rescue."""

    ESCAPED = "escaped"
    POLICE_RAID = "police_raid"
    PARTNER_NGO = "partner_ngo"
    SELF_PRESENTED = "self_presented"
    DEPORTED = "deported"


class Crossing(StrEnum):
    """How a returning survivor crossed the border, or that she did not cross one."""

    HANDOFF = "handoff"
    WITH_STAFF = "with_staff"
    DEPORTED = "deported"
    ON_OWN = "on_own"
    DOMESTIC = "domestic"


class ReviewDecision(StrEnum):
    """Leadership's judgement of an emergency rescue after the fact."""

    ENDORSED = "endorsed"
    CONCERNS = "concerns"


class ConsentPurpose(StrEnum):
    """What a survivor's consent covers."""

    AFTERCARE = "aftercare"
    PROSECUTION = "prosecution"
    DATA_SHARING = "data_sharing"
    MEDIA = "media"
    RESEARCH = "research"


class GivenBy(StrEnum):
    """Who gave a consent: the survivor herself, or her guardian (needed for a minor)."""

    SURVIVOR = "survivor"
    GUARDIAN = "guardian"


class DefendantRole(StrEnum):
    """A defendant's part in the trafficking."""

    RECRUITER = "recruiter"
    TRANSPORTER = "transporter"
    BUYER = "buyer"
    BROTHEL_OWNER = "brothel_owner"
    EMPLOYER = "employer"
    OTHER = "other"


class HearingKind(StrEnum):
    """The kind of court hearing."""

    PRELIMINARY = "preliminary"
    TRIAL = "trial"
    APPEAL = "appeal"


class Witness(StrEnum):
    """Who gave a testimony."""

    SURVIVOR = "survivor"
    FAMILY = "family"
    STAFF = "staff"
    POLICE = "police"
    OTHER = "other"


class Verdict(StrEnum):
    """A court's verdict on one defendant."""

    CONVICTED = "convicted"
    ACQUITTED = "acquitted"
    DISMISSED = "dismissed"


class AppealBy(StrEnum):
    """Which side appealed a verdict."""

    DEFENCE = "defence"
    PROSECUTION = "prosecution"
