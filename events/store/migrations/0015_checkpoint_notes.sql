-- Checkpoints as C2SP signed notes (evidence/checkpoint_note.py), the witnesses' cosignatures on
-- them, and the log's origin. Part of the record: appended to only. (No foreign keys: they would
-- make a TRUNCATE of signed_checkpoints fail before its own trigger refuses it.)

-- The origin line of this deployment's checkpoints: made once, here, from a random id, so two
-- installations never sign checkpoints under the same name (COORDINATOR_CHECKPOINT_ORIGIN
-- overrides it). A restored backup keeps it.
CREATE TABLE log_origin (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    origin text NOT NULL CHECK (origin <> '' AND origin !~ '[[:space:]+]')
);
INSERT INTO log_origin (origin)
VALUES ('homeward.example/' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16));

-- The signed note of each checkpoint signed since: its text and the log's signature line, signed
-- with the same key and at the same moment as the JSON form in signed_checkpoints.
CREATE TABLE checkpoint_notes (
    tree_size bigint PRIMARY KEY,
    note text NOT NULL
);

-- A witness's cosignature line on a checkpoint note, checked when it was posted.
CREATE TABLE checkpoint_cosignatures (
    tree_size bigint NOT NULL,
    witness text NOT NULL,
    key_id bytea NOT NULL CHECK (length(key_id) = 4),
    cosigned_at bigint NOT NULL CHECK (cosigned_at >= 0),
    line text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tree_size, witness, key_id)
);

CREATE TRIGGER log_origin_append_only BEFORE UPDATE OR DELETE ON log_origin
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER log_origin_no_truncate BEFORE TRUNCATE ON log_origin
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER checkpoint_notes_append_only BEFORE UPDATE OR DELETE ON checkpoint_notes
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER checkpoint_notes_no_truncate BEFORE TRUNCATE ON checkpoint_notes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER checkpoint_cosignatures_append_only BEFORE UPDATE OR DELETE
    ON checkpoint_cosignatures FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER checkpoint_cosignatures_no_truncate BEFORE TRUNCATE ON checkpoint_cosignatures
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
