-- Need-to-know (issue 15): field tokens belong to a team, and reads past it are kept for review.

-- A field token's team; NULL for the other roles and for field tokens made before teams, which
-- keep their access to every operation (an upgrade locks no team out).
ALTER TABLE access_tokens
    ADD COLUMN team text CHECK (team IS NULL OR (length(team) BETWEEN 1 AND 100 AND role = 'field'));

-- Every break-the-glass request: a field token of a team not assigned to the operation (or to
-- any operation that registered the survivor) read or recorded it anyway, with the reason it
-- gave. The same request has its entry in the hash-chained access log (`access_entry`, whose
-- `what` ends in "(break-glass)"); listed for admins at GET /v1/audit/break-glass. Part of the
-- record: only ever appended to.
CREATE TABLE break_glass_reads (
    access_entry bigint PRIMARY KEY,
    accessed_at timestamptz NOT NULL,
    actor_name text NOT NULL,
    actor_team text NOT NULL,
    operation_id uuid NOT NULL,
    what text NOT NULL,
    reason text NOT NULL CHECK (length(reason) BETWEEN 10 AND 500),
    request_id text NOT NULL
);

CREATE TRIGGER break_glass_reads_append_only BEFORE UPDATE OR DELETE ON break_glass_reads
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER break_glass_reads_no_truncate BEFORE TRUNCATE ON break_glass_reads
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
