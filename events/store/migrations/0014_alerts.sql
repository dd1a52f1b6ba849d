-- Alerts (issue 16): the facts the alert rules judge at read time, kept by the `alerts`
-- projection (projections/read_models/alerts.py), acknowledgements, and webhook deliveries.
-- No personal data: pseudonymous ids, statuses and the times things happened (occurred_at).

-- One row per operation: whether it is open, its stage, when anything but an acknowledgement
-- last happened on it, and since when an emergency rescue awaits review.
CREATE TABLE alert_operations (
    operation_id uuid PRIMARY KEY,
    open boolean NOT NULL,
    stage text NOT NULL,
    last_update timestamptz NOT NULL,
    awaiting_review_since timestamptz
);

-- One row per survivor and operation that registered her: her journey's status on it and
-- since when (the occurred_at of the event that moved her there).
CREATE TABLE alert_journeys (
    operation_id uuid NOT NULL,
    survivor_id uuid NOT NULL,
    status text NOT NULL,
    status_since timestamptz NOT NULL,
    registered_at timestamptz NOT NULL,
    PRIMARY KEY (survivor_id, operation_id)
);

-- One row per survivor with a case fact: her last service (on an operation or on her case),
-- and what her case holds that stops services being expected (lost contact, declined support,
-- independent, re-trafficked).
CREATE TABLE alert_cases (
    survivor_id uuid PRIMARY KEY,
    last_service_at timestamptz,
    hold text
);

-- Her consents for the prosecution, by recipient, standing or withdrawn (and when).
CREATE TABLE alert_consents (
    survivor_id uuid NOT NULL,
    recipient text NOT NULL,
    standing boolean NOT NULL,
    changed_at timestamptz NOT NULL,
    PRIMARY KEY (survivor_id, recipient)
);

-- Each survivor a prosecution names, with the operations it names and when it opened.
CREATE TABLE alert_prosecutions (
    prosecution_id uuid NOT NULL,
    survivor_id uuid NOT NULL,
    operation_ids uuid[] NOT NULL,
    opened_at timestamptz NOT NULL,
    open boolean NOT NULL,
    PRIMARY KEY (prosecution_id, survivor_id)
);

-- Every AlertAcknowledged: who saw which alert, and when.
CREATE TABLE alert_acknowledgements (
    event_id uuid PRIMARY KEY,
    alert_id uuid NOT NULL,
    operation_id uuid NOT NULL,
    acknowledged_by text NOT NULL,
    acknowledged_at timestamptz NOT NULL
);
CREATE INDEX alert_acknowledgements_alert ON alert_acknowledgements (alert_id);

-- The webhook's deliveries: a replica claims an alert by inserting its row, so each alert is
-- sent once across replicas; a claim left unfinished (its process died) is taken over later.
CREATE TABLE alert_deliveries (
    alert_id uuid PRIMARY KEY,
    kind text NOT NULL,
    claimed_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    last_status text,
    delivered_at timestamptz,
    gave_up_at timestamptz
);
