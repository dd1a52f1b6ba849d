-- RFC 3161 timestamp tokens on checkpoints (evidence/timestamping.py): a time-stamping
-- authority's signed statement that it saw SHA-256 of the checkpoint note's text at gen_time.
-- Part of the record: appended to only. (No foreign key, as in 0015.)
CREATE TABLE checkpoint_timestamps (
    tree_size bigint PRIMARY KEY,
    -- The TimeStampToken as the authority answered it: DER, a CMS ContentInfo.
    token bytea NOT NULL,
    gen_time timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER checkpoint_timestamps_append_only BEFORE UPDATE OR DELETE ON checkpoint_timestamps
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER checkpoint_timestamps_no_truncate BEFORE TRUNCATE ON checkpoint_timestamps
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
