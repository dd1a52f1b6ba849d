-- The access log (invariant 8): every read of an operation's details, events or audit trail, who
-- read it and when. Part of the record: only ever appended to, and hash-chained like the events,
-- so a row changed or removed from the middle breaks the chain.
CREATE TABLE access_log (
    entry bigint PRIMARY KEY CHECK (entry > 0),
    accessed_at timestamptz NOT NULL,
    actor_name text NOT NULL,
    actor_role text NOT NULL,
    operation_id uuid NOT NULL,
    what text NOT NULL,
    format text NOT NULL,
    request_id text NOT NULL,
    prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash bytea NOT NULL CHECK (length(hash) = 32)
);
-- Serves GET /v1/audit/access-log?operation_id=.
CREATE INDEX access_log_operation ON access_log (operation_id, entry);

CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Append one entry, chained to the last: hash = SHA-256 of the canonical JSON
-- {"body": hex(body_hash), "entry": n, "prev": hex(previous hash)} (events/access_chain.py), where
-- the caller computes body_hash over the entry's fields. One round trip per read.
CREATE FUNCTION record_access(
    p_accessed_at timestamptz,
    p_actor_name text,
    p_actor_role text,
    p_operation_id uuid,
    p_what text,
    p_format text,
    p_request_id text,
    p_body_hash bytea
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_entry bigint;
    v_prev bytea;
BEGIN
    -- Concurrent reads would otherwise chain to the same last entry and fork the chain: writers
    -- of this log queue here, until their transaction ends (the lock is transaction-level).
    PERFORM pg_advisory_xact_lock(5268419282113549721);  -- SHA-256("homeward access log")[:8]
    SELECT a.entry, a.hash INTO v_entry, v_prev FROM access_log a ORDER BY a.entry DESC LIMIT 1;
    IF NOT FOUND THEN
        v_entry := 0;
        v_prev := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    END IF;
    v_entry := v_entry + 1;
    INSERT INTO access_log (entry, accessed_at, actor_name, actor_role, operation_id, what,
                            format, request_id, prev_hash, hash)
    VALUES (v_entry, p_accessed_at, p_actor_name, p_actor_role, p_operation_id, p_what, p_format,
            p_request_id, v_prev,
            sha256(convert_to('{"body":"' || encode(p_body_hash, 'hex') || '","entry":'
                              || v_entry::text || ',"prev":"' || encode(v_prev, 'hex') || '"}',
                              'UTF8')));
    RETURN v_entry;
END $$;
