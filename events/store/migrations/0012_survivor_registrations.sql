-- One person, one survivor_id: every registration of a survivor by an operation, under a slot
-- that can be taken once. Her first registration takes 'first'; a later one takes the event id
-- of the SurvivorRetrafficked in her case that named that operation. Written in the same
-- transaction as the registering event (RescueExecuted or SurvivorRecovered), so two operations
-- racing to register her cannot both succeed, and never read-then-written.
CREATE TABLE survivor_registrations (
    survivor_id uuid NOT NULL,
    slot text NOT NULL,
    operation_id uuid NOT NULL,
    event_id uuid NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (survivor_id, slot),
    CONSTRAINT survivor_registrations_once_per_operation UNIQUE (survivor_id, operation_id)
);
CREATE INDEX survivor_registrations_operation ON survivor_registrations (operation_id);

-- A fact of the record, like the events it mirrors: never changed or removed.
CREATE TRIGGER survivor_registrations_append_only BEFORE UPDATE OR DELETE
    ON survivor_registrations FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER survivor_registrations_no_truncate BEFORE TRUNCATE ON survivor_registrations
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The registrations of the log so far (RescueExecuted was the only registering event before):
-- the earliest takes 'first'; a survivor that an older version let two operations register keeps
-- her later ones under 'legacy:<event id>', so that nothing recorded is lost.
INSERT INTO survivor_registrations (survivor_id, slot, operation_id, event_id, registered_at)
SELECT survivor_id,
       CASE WHEN row_number() OVER (PARTITION BY survivor_id ORDER BY position) = 1 THEN 'first'
            ELSE 'legacy:' || event_id::text END,
       operation_id, event_id, recorded_at
  FROM (
      SELECT DISTINCT ON ((s ->> 'survivor_id')::uuid, e.stream_id)
             (s ->> 'survivor_id')::uuid AS survivor_id, e.stream_id AS operation_id,
             e.event_id, e.recorded_at, e.position
        FROM events e, jsonb_array_elements(e.data -> 'survivors') AS s
       WHERE e.type = 'RescueExecuted' AND jsonb_typeof(e.data -> 'survivors') = 'array'
       ORDER BY (s ->> 'survivor_id')::uuid, e.stream_id, e.position
  ) AS registered;
