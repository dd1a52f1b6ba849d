-- Domain v2 read models: the board and the status list gain the case reference and the
-- survivors' v2 statuses; impact counts each person once (rows per registering event), adds
-- recoveries, services on survivors' cases and prosecutions; survivors get a status list.
--
-- The v1 rows cannot be brought up to date in SQL (they come from the operation's rules), so
-- the three projections are emptied with their checkpoints: a missing checkpoint is the start
-- of the log, and the runners rebuild them from there (projections/engine/positions.py).
DELETE FROM board;
DELETE FROM operation_status;
DELETE FROM impact_survivors;
DELETE FROM impact_services;
DELETE FROM projection_checkpoints WHERE name IN ('board', 'operation_status', 'impact');

-- The board: flags judged at read time need the times they are judged from.
ALTER TABLE board
    ADD COLUMN reference text,
    ADD COLUMN survivors_by_status jsonb NOT NULL,
    ADD COLUMN awaiting_review_since timestamptz,
    ADD COLUMN abroad_since timestamptz;

-- Operation status: searchable by the organisation's own case number.
ALTER TABLE operation_status ADD COLUMN reference text;
CREATE INDEX operation_status_reference ON operation_status (reference, updated_at DESC)
    WHERE reference IS NOT NULL;

-- Impact: one row per survivor and registering event (a counted rescue, or a recovery), so a
-- correction replaces one event's rows and each person is counted from her first.
ALTER TABLE impact_survivors
    DROP CONSTRAINT impact_survivors_pkey,
    ALTER COLUMN age_at_rescue DROP NOT NULL,
    ADD COLUMN event_id uuid NOT NULL,
    ADD COLUMN registered_by text NOT NULL CHECK (registered_by IN ('rescue', 'recovery')),
    ADD COLUMN position bigint NOT NULL,
    ADD COLUMN ethnic_group text,
    ADD PRIMARY KEY (event_id, survivor_id);
CREATE INDEX impact_survivors_first
    ON impact_survivors (registered_by, survivor_id, rescued_at, position);

-- A service on her case has no operation.
ALTER TABLE impact_services ALTER COLUMN operation_id DROP NOT NULL;

CREATE TABLE impact_prosecutions (
    prosecution_id uuid PRIMARY KEY,
    opened_at timestamptz NOT NULL
);
CREATE INDEX impact_prosecutions_opened_at ON impact_prosecutions (opened_at);

-- Every verdict (as corrected); a defendant's standing verdict is her latest.
CREATE TABLE impact_verdicts (
    event_id uuid PRIMARY KEY,
    prosecution_id uuid NOT NULL,
    defendant_id uuid NOT NULL,
    verdict text NOT NULL,
    position bigint NOT NULL,
    reached_at timestamptz NOT NULL
);
CREATE INDEX impact_verdicts_standing
    ON impact_verdicts (prosecution_id, defendant_id, position DESC);

-- Survivors by status, for GET /v1/survivors?status=: no personal data.
CREATE TABLE survivor_status (
    survivor_id uuid PRIMARY KEY,
    status text NOT NULL,
    operations uuid[] NOT NULL,
    updated_at timestamptz NOT NULL,
    last_position bigint NOT NULL
);
CREATE INDEX survivor_status_status ON survivor_status (status, updated_at DESC);
CREATE INDEX survivor_status_updated_at ON survivor_status (updated_at DESC);

-- Finds the operations that recovered a survivor (as events_rescued_survivors does for rescues).
CREATE INDEX events_recovered_survivors ON events
    USING gin ((data -> 'survivors') jsonb_path_ops) WHERE type = 'SurvivorRecovered';
