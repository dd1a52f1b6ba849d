"""An imported operation's events, judged by the live rules except where history cannot obey them.

A sheet of past rescues knows the report, where survivors were found, the rescue, the returns and
reunions, and whether the case closed. It does not know the investigation, the plan, leadership's
approval or the custody handoffs at the border, and an import must not invent them: a record that
claims an approval nobody gave in this system would not stand up in court.

So the import records only the facts the sheet holds, each through `decide` as if an admin posted
it, with exactly two exceptions, both narrow and both visible in the record (every imported event
says `recorded_by: import:<file>` in its metadata):

1. `RescueExecuted` straight after the report, where live rules ask for an approved plan. Allowed
   only as the first rescue of an operation that holds nothing but its report and locations.
2. `SurvivorReturned` of a survivor found abroad straight from `rescued`, where live rules ask for
   a `CustodyTransferred` first. Allowed only for survivors at status `rescued`.

Everything else (who may record what, survivor moves, reunion only after return, closing only
once every survivor returned) is the live rules' judgement, and an operation they refuse is
skipped whole with their sentence. After the import the operation goes on under the live rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from coordinator.domain import (
    HOME_COUNTRY,
    RECORDABLE_BY,
    OpenOperation,
    Operation,
    ProposedEvent,
    RecordEvents,
    Stage,
    decide,
    evolve,
)
from coordinator.domain.actors import Actor
from coordinator.errors import Forbidden, RuleBroken
from coordinator.service.importing.cells import Outcome
from coordinator.service.importing.survivor_lines import ImportedOperation, ImportedSurvivor
from events.catalogue import (
    CaseReported,
    CloseReason,
    Destination,
    EventData,
    EventType,
    FamilyReunited,
    LocationConfirmed,
    OperationClosed,
    RescueExecuted,
    Survivor,
    SurvivorReturned,
)
from events.catalogue import Outcome as RescueOutcome


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    """An event the import will append, and the sheet rows it comes from."""

    event: ProposedEvent
    label: str
    rows: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """An operation's imported events in order, and the state they leave it in."""

    events: tuple[PlannedEvent, ...]
    state: Operation


def plan(operation: ImportedOperation, importer: Actor) -> Plan:
    """The events that record `operation`'s history, or `RuleBroken` with the rule's sentence."""
    history = _History(operation, importer)
    history.open()
    for country in dict.fromkeys(s.line.found_in_country for s in operation.survivors):
        history.record(
            LocationConfirmed(country=country), f"LocationConfirmed:{country}", operation.rescued_at
        )
    history.rescue()
    for moment, step, _row, survivor in sorted(_journeys(operation), key=lambda j: j[:3]):
        if step is _Step.RETURN:
            history.returned(survivor, moment)
        else:
            history.reunited(survivor, moment)
    if operation.closed_at is not None:
        history.record(
            OperationClosed(reason=CloseReason.SURVIVORS_INDEPENDENT),
            EventType.OPERATION_CLOSED,
            operation.closed_at,
        )
    return Plan(tuple(history.planned), history.state)


class _Step(IntEnum):
    """A step of a survivor's journey after the rescue, in the order a day's steps happen."""

    RETURN = 0
    REUNION = 1


def _journeys(operation: ImportedOperation) -> list[tuple[datetime, _Step, int, ImportedSurvivor]]:
    """Each survivor's return and reunion, with when they happened."""
    steps = []
    for survivor in operation.survivors:
        line = survivor.line
        if line.outcome is Outcome.RESCUED or line.returned_at is None:
            continue
        steps.append((line.returned_at, _Step.RETURN, line.row, survivor))
        if line.outcome is Outcome.REUNITED:
            reunited_at = line.reunited_at or line.returned_at
            steps.append((reunited_at, _Step.REUNION, line.row, survivor))
    return steps


class _History:
    """Folds the planned events one by one, judging each as the live rules (or the bypass) do."""

    def __init__(self, operation: ImportedOperation, importer: Actor) -> None:
        self.operation = operation
        self.importer = importer
        self.planned: list[PlannedEvent] = []
        self._state: Operation | None = None

    @property
    def state(self) -> Operation:
        if self._state is None:
            raise RuleBroken("an operation opens with CaseReported")
        return self._state

    def _proposed(self, data: EventData, label: str, moment: datetime) -> ProposedEvent:
        return ProposedEvent.of(data, event_id=self.operation.event_id(label), occurred_at=moment)

    def _apply(self, event: ProposedEvent, label: str, rows: tuple[int, ...]) -> None:
        state = self._state
        version = 1 if state is None else state.version + 1
        recorded = event.recorded(self.operation.operation_id, self.importer, version)
        self._state = evolve(state, recorded)
        self.planned.append(PlannedEvent(event, label, rows))

    def open(self) -> None:
        """CaseReported: who asked and the organisation's case number, nothing the report did not
        say (missing persons unknown)."""
        event = self._proposed(
            CaseReported(channel=self.operation.channel, reference=self.operation.reference),
            EventType.CASE_REPORTED,
            self.operation.reported_at,
        )
        (decided,) = decide(None, OpenOperation(self.operation.operation_id, event), self.importer)
        self._apply(decided, EventType.CASE_REPORTED, self.operation.rows)

    def record(
        self, data: EventData, label: str, moment: datetime, rows: tuple[int, ...] | None = None
    ) -> None:
        """An event the live rules judge, exactly as if an admin posted it."""
        event = self._proposed(data, label, moment)
        command = RecordEvents(self.operation.operation_id, [event])
        (decided,) = decide(self.state, command, self.importer)
        self._apply(decided, label, self.operation.rows if rows is None else rows)

    def rescue(self) -> None:
        """Bypass 1: the rescue without the approval the sheet cannot show (see module doc)."""
        state = self.state
        if state.phase is not Stage.REPORTED or state.survivors:
            raise RuleBroken("an imported rescue comes straight after the report")
        survivors = tuple(
            Survivor(
                survivor_id=s.survivor_id,
                gender=s.line.gender,
                age_at_rescue=s.line.age_at_rescue,
                exploitation=s.line.exploitation,
                form=s.line.form,
                found_in_country=s.line.found_in_country,
                home_province=s.line.home_province,
            )
            for s in self.operation.survivors
        )
        data = RescueExecuted(outcome=RescueOutcome.SUCCESS, survivors=survivors)
        self._bypass(
            data, EventType.RESCUE_EXECUTED, self.operation.rescued_at, self.operation.rows
        )

    def returned(self, survivor: ImportedSurvivor, moment: datetime) -> None:
        """SurvivorReturned: judged by the live rules, or bypass 2 for one found abroad."""
        line = survivor.line
        destination = Destination.SHELTER if line.outcome is Outcome.SHELTER else Destination.HOME
        data = SurvivorReturned(survivor_ids=(survivor.survivor_id,), destination=destination)
        label = f"SurvivorReturned:{survivor.key}"
        record = self.state.survivors[survivor.survivor_id]
        if record.found_in_country == HOME_COUNTRY or record.handed_off:
            self.record(data, label, moment, (line.row,))
            return
        self._bypass(data, label, moment, (line.row,))

    def _bypass(self, data: EventData, label: str, moment: datetime, rows: tuple[int, ...]) -> None:
        """Record past a stage rule; who may record the event at all still holds."""
        event = self._proposed(data, label, moment)
        if event.type not in RECORDABLE_BY[self.importer.role]:
            raise Forbidden(f"Role {self.importer.role} may not record {event.type}.")
        self._apply(event, label, rows)

    def reunited(self, survivor: ImportedSurvivor, moment: datetime) -> None:
        """FamilyReunited: judged by the live rules (only after the survivor's return)."""
        data = FamilyReunited(survivor_id=survivor.survivor_id)
        self.record(data, f"FamilyReunited:{survivor.key}", moment, (survivor.line.row,))
