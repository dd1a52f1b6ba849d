"""The operation's rules about its survivors: registering each once (and again only through a
re-trafficking her case records), returning by a stated crossing, and closing as handed to
aftercare. Called by `judge` (coordinator/domain/decide.py) with the state before the event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from uuid import UUID

from coordinator.domain.standing import FIRST_REGISTRATION, NO_STANDING, Registration, Standing
from coordinator.domain.state import (
    HOME_COUNTRY,
    Operation,
    ProposedEvent,
    SurvivorRecord,
    SurvivorStatus,
)
from coordinator.errors import RuleBroken
from events.catalogue import (
    CloseReason,
    Crossing,
    EventType,
    RescueExecuted,
    Survivor,
    SurvivorRecovered,
)

Standings = Mapping[UUID, Standing]


def first_repeated(ids: Iterable[UUID]) -> UUID | None:
    counts = Counter(ids)
    return next((each for each, count in counts.items() if count > 1), None)


def names_each_once(event_type: str, survivor_ids: Iterable[UUID]) -> None:
    repeated = first_repeated(survivor_ids)
    if repeated is not None:
        raise RuleBroken(f"{event_type} names each survivor once; {repeated} comes twice.")


def missing_persons_named_once(event: ProposedEvent) -> None:
    ids = [person.missing_person_id for person in getattr(event.data, "missing_persons", ())]
    repeated = first_repeated(each for each in ids if each is not None)
    if repeated is not None:
        raise RuleBroken(f"CaseReported names each missing person once; {repeated} comes twice.")


def registered_record(state: Operation, event_type: str, survivor_id: UUID) -> SurvivorRecord:
    record = state.survivors.get(survivor_id)
    if record is None:
        raise RuleBroken(
            f"{event_type} names survivor {survivor_id}, who is not registered by this operation.",
        )
    return record


def may_register(state: Operation, event_type: str, survivors: Sequence[Survivor]) -> None:
    names_each_once(event_type, [survivor.survivor_id for survivor in survivors])
    claimed = {
        record.missing_person_id: record.survivor_id
        for record in state.survivors.values()
        if record.missing_person_id is not None
    }
    for survivor in survivors:
        if survivor.survivor_id in state.survivors:
            raise RuleBroken(
                f"{event_type} registers survivor {survivor.survivor_id}, whom this operation "
                f"registered already (one registration per operation).",
            )
        missing = survivor.missing_person_id
        if missing is None:
            continue
        if missing not in state.missing_persons:
            raise RuleBroken(
                f"{event_type} names missing person {missing}, who is not in this "
                f"operation's report.",
            )
        if missing in claimed:
            raise RuleBroken(
                f"{event_type} names missing person {missing} for survivor "
                f"{survivor.survivor_id}; survivor {claimed[missing]} is that person already.",
            )
        claimed[missing] = survivor.survivor_id


def registrations_taken(
    state: Operation, event: ProposedEvent, standings: Standings
) -> list[Registration]:
    """The registration slot each survivor of a rescue or recovery takes: her first, or one
    left open by a re-trafficking in her case that names this operation."""
    if not isinstance(event.data, RescueExecuted | SurvivorRecovered):
        return []
    taken: list[Registration] = []
    for survivor in event.data.survivors:
        standing = standings.get(survivor.survivor_id, NO_STANDING)
        if standing.erased and survivor.personal is not None:
            raise RuleBroken(
                f"{event.type} carries personal data for survivor {survivor.survivor_id}, whose "
                f"personal data was erased; register her without it.",
            )
        slot = _slot(state.operation_id, standing)
        if slot is None:
            if state.operation_id in standing.registered_by:
                continue  # judged below: one registration per operation
            elsewhere = ", ".join(str(each) for each in standing.registered_by)
            raise RuleBroken(
                f"{event.type} registers survivor {survivor.survivor_id}, who is registered "
                f"already by operation {elsewhere}; another operation may register her only "
                f"once her case records SurvivorRetrafficked naming it.",
            )
        taken.append(Registration(survivor.survivor_id, slot, state.operation_id, event.event_id))
    return taken


def _slot(operation_id: UUID, standing: Standing) -> str | None:
    if not standing.registered:
        return FIRST_REGISTRATION
    if operation_id in standing.registered_by:
        return None
    for event_id, named in standing.open_retraffickings:
        if named == operation_id:
            return str(event_id)
    return None


def may_return(state: Operation, survivor_id: UUID, crossing: Crossing | None) -> None:
    record = registered_record(state, EventType.SURVIVOR_RETURNED, survivor_id)
    if record.returned:
        raise RuleBroken(
            f"SurvivorReturned needs the survivor not to have returned yet; survivor "
            f"{survivor_id} has returned.",
        )
    found = record.found_in_country
    if crossing is None:
        if not record.found_abroad or record.handed_off:
            return  # domestic, or the recorded handoff
        raise RuleBroken(
            f"SurvivorReturned needs a survivor found abroad to come through a "
            f"CustodyTransferred first, or `crossing` to say how she crossed (with_staff, "
            f"deported, on_own); survivor {survivor_id} was found in {found}.",
        )
    if crossing is Crossing.HANDOFF and not record.handed_off:
        raise RuleBroken(
            f"SurvivorReturned with crossing handoff needs a CustodyTransferred naming survivor "
            f"{survivor_id} first.",
        )
    if crossing is Crossing.DOMESTIC and record.found_abroad:
        raise RuleBroken(
            f"SurvivorReturned with crossing domestic is for a survivor found in "
            f"{HOME_COUNTRY}; survivor {survivor_id} was found in {found}.",
        )
    if crossing in _BORDER_CROSSINGS and not record.found_abroad:
        raise RuleBroken(
            f"SurvivorReturned with crossing {crossing} is for a survivor found abroad; "
            f"survivor {survivor_id} was found in {found}.",
        )


_BORDER_CROSSINGS = frozenset({Crossing.WITH_STAFF, Crossing.DEPORTED, Crossing.ON_OWN})

HANDED_ON = frozenset(
    {
        SurvivorStatus.INDEPENDENT,
        SurvivorStatus.RE_TRAFFICKED,
        SurvivorStatus.DECLINED_SUPPORT,
        SurvivorStatus.LOST_CONTACT,
    }
)
"""What her case may say of a survivor who need not have returned for the operation to close as
handed to aftercare."""


def may_close(state: Operation, reason: CloseReason, standings: Standings) -> None:
    records = list(state.survivors.values())
    if reason is CloseReason.UNFOUNDED and records:
        raise RuleBroken("OperationClosed as unfounded needs an operation with no survivors.")
    if reason is CloseReason.SURVIVORS_INDEPENDENT:
        if not records:
            raise RuleBroken(
                "OperationClosed as survivors_independent needs at least one survivor.",
            )
        if not all(record.returned for record in records):
            raise RuleBroken(
                "OperationClosed as survivors_independent needs every survivor to have "
                "returned first.",
            )
    if reason is CloseReason.HANDED_TO_AFTERCARE:
        if not records:
            raise RuleBroken("OperationClosed as handed_to_aftercare needs at least one survivor.")
        for record in records:
            case_status = standings.get(record.survivor_id, NO_STANDING).case_status
            if not record.returned and case_status not in HANDED_ON:
                raise RuleBroken(
                    f"OperationClosed as handed_to_aftercare needs each survivor to have "
                    f"returned, or her case to say she is independent, re-trafficked, declined "
                    f"support or lost contact; survivor {record.survivor_id} is "
                    f"{record.status}.",
                )
