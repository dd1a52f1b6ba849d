-- The append-only event log (invariants 1-3 and 5).

-- An epoch leads every reader's cursor: transaction ids restart after a dump and restore, so a
-- restore (detected at start-up, see events/migrate.py) opens a new epoch that sorts after the old.
CREATE TABLE log_epochs (
    epoch integer PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    reason text NOT NULL
);
INSERT INTO log_epochs (epoch, reason) VALUES (1, 'log created');

CREATE FUNCTION current_log_epoch() RETURNS integer
LANGUAGE sql STABLE AS $$ SELECT max(epoch) FROM log_epochs $$;
-- New rows take the current epoch from the column's default, a constant that the start-up
-- check after a restore raises (ALTER TABLE ... SET DEFAULT), so appends never look it up.

CREATE TABLE events (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    epoch integer NOT NULL DEFAULT 1,
    -- The writing transaction's id: readers only read rows whose transaction is older than every
    -- transaction still running, so a later commit with a lower position is never skipped.
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id uuid NOT NULL,
    stream_id uuid NOT NULL,
    version integer NOT NULL CHECK (version > 0),
    type text NOT NULL,
    schema_version integer NOT NULL CHECK (schema_version > 0),
    data jsonb NOT NULL,
    metadata jsonb NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    content_hash bytea NOT NULL CHECK (length(content_hash) = 32),
    prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash bytea NOT NULL CHECK (length(hash) = 32),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    -- Appends to one stream are serialised by this constraint alone, never by a lock or a
    -- read-modify-write of a version row: the loser of a race fails loudly here.
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version)
);

-- Serves read_all and subscriptions: (epoch, xid, position) is the global order.
CREATE INDEX events_global_order ON events (epoch, xid, position);

CREATE FUNCTION refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is refused on %: the record is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'HW003';
END $$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER log_epochs_append_only BEFORE UPDATE OR DELETE ON log_epochs
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER log_epochs_no_truncate BEFORE TRUNCATE ON log_epochs
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- One round trip per append: idempotency check, expected version, hash chain and insert. The
-- caller supplies each event's body hash; the chain link (events/integrity.py, link_hash) is
-- computed here because only the database knows the previous hash at commit.
CREATE FUNCTION append_events(
    p_stream uuid,
    p_expected integer,
    p_event_ids uuid[],
    p_types text[],
    p_schema_versions integer[],
    p_data jsonb[],
    p_metadata jsonb[],
    p_occurred_at timestamptz[],
    p_recorded_at timestamptz,
    p_content_hashes bytea[],
    p_body_hashes bytea[]
) RETURNS TABLE (
    out_event_id uuid, out_version integer, out_position bigint, out_hash bytea,
    out_duplicate boolean
)
LANGUAGE plpgsql AS $$
DECLARE
    v_found integer;
    v_same integer;
    v_version integer;
    v_prev bytea;
    v_link bytea;
    v_count integer := cardinality(p_event_ids);
BEGIN
    SELECT count(*),
           count(*) FILTER (WHERE e.stream_id = p_stream AND e.content_hash = s.content_hash)
      INTO v_found, v_same
      FROM unnest(p_event_ids, p_content_hashes) AS s(event_id, content_hash)
      JOIN events e ON e.event_id = s.event_id;
    IF v_found > 0 THEN
        IF v_found = v_count AND v_same = v_count THEN
            -- A re-send of an appended batch: answer as the first time, append nothing.
            RETURN QUERY
                SELECT e.event_id, e.version, e.position, e.hash, true
                  FROM events e WHERE e.event_id = ANY (p_event_ids) ORDER BY e.version;
            RETURN;
        END IF;
        RAISE EXCEPTION 'event ids already recorded with other content'
            USING ERRCODE = 'HW001';
    END IF;

    IF p_expected IS NULL THEN
        -- Writers that state no expected version queue on this stream alone (never a global
        -- lock) instead of racing for the next version and retrying.
        PERFORM pg_advisory_xact_lock(hashtextextended(p_stream::text, 0));
    END IF;
    SELECT e.version, e.hash INTO v_version, v_prev
      FROM events e WHERE e.stream_id = p_stream ORDER BY e.version DESC LIMIT 1;
    IF NOT FOUND THEN
        v_version := 0;
        v_prev := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    END IF;
    IF p_expected IS NOT NULL AND p_expected <> v_version THEN
        RAISE EXCEPTION 'stream is at version %', v_version
            USING ERRCODE = 'HW002', DETAIL = v_version::text;
    END IF;

    FOR i IN 1 .. v_count LOOP
        v_version := v_version + 1;
        v_link := sha256(convert_to(
            '{"body":"' || encode(p_body_hashes[i], 'hex') || '","prev":"' || encode(v_prev, 'hex')
            || '","version":' || v_version::text || '}', 'UTF8'));
        INSERT INTO events (event_id, stream_id, version, type, schema_version, data,
                            metadata, occurred_at, recorded_at, content_hash, prev_hash, hash)
        VALUES (p_event_ids[i], p_stream, v_version, p_types[i], p_schema_versions[i],
                p_data[i], p_metadata[i], p_occurred_at[i], p_recorded_at, p_content_hashes[i],
                v_prev, v_link)
        RETURNING event_id, version, position, hash, false
             INTO out_event_id, out_version, out_position, out_hash, out_duplicate;
        v_prev := v_link;
        RETURN NEXT;
    END LOOP;
END $$;
