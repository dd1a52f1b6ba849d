-- Where each projection has got to in the log; moved only forward, in the same transaction as the
-- projection's rows (invariant 4).
CREATE TABLE projection_checkpoints (
    name text PRIMARY KEY,
    epoch integer NOT NULL,
    xid xid8 NOT NULL,
    position bigint NOT NULL,
    events_applied bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Operation status: one row per operation, no personal data.
CREATE TABLE operation_status (
    operation_id uuid PRIMARY KEY,
    stage text NOT NULL,
    version integer NOT NULL,
    country text,
    opened_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    summary jsonb NOT NULL
);
CREATE INDEX operation_status_stage ON operation_status (stage, updated_at DESC);
CREATE INDEX operation_status_country ON operation_status (country, updated_at DESC);

-- The leadership board: one row per operation (closed ones kept as `open = false` so that a
-- client resuming its stream learns that they left the board). No personal data.
CREATE TABLE board (
    operation_id uuid PRIMARY KEY,
    open boolean NOT NULL,
    stage text NOT NULL,
    stage_since timestamptz NOT NULL,
    version integer NOT NULL,
    country text,
    survivors integer NOT NULL,
    awaiting_approval boolean NOT NULL,
    opened_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    last_epoch integer NOT NULL,
    last_xid xid8 NOT NULL,
    last_position bigint NOT NULL
);
CREATE INDEX board_cursor ON board (last_epoch, last_xid, last_position);

-- Impact: each survivor of a successful or partial rescue, and each follow-up service.
CREATE TABLE impact_survivors (
    survivor_id uuid PRIMARY KEY,
    operation_id uuid NOT NULL,
    rescued_at timestamptz NOT NULL,
    found_in_country text NOT NULL,
    gender text NOT NULL,
    age_at_rescue integer NOT NULL,
    exploitation text NOT NULL,
    form text
);
CREATE INDEX impact_survivors_rescued_at ON impact_survivors (rescued_at);

CREATE TABLE impact_services (
    event_id uuid PRIMARY KEY,
    survivor_id uuid NOT NULL,
    operation_id uuid NOT NULL,
    service text NOT NULL,
    provided_at timestamptz NOT NULL
);
CREATE INDEX impact_services_provided_at ON impact_services (provided_at);
