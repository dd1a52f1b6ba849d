-- The Merkle log over event hashes and its signed checkpoints (invariants 5 and 6). Both are part
-- of the record: like the events, they are only ever appended to.

-- One leaf per event, in the global order the integrator read them. The last leaf's cursor is
-- where the integrator resumes, so the cursor is stored with the leaves, in the same transaction,
-- and nothing here is ever updated.
CREATE TABLE merkle_leaves (
    leaf_index bigint PRIMARY KEY CHECK (leaf_index >= 0),
    position bigint NOT NULL,
    epoch integer NOT NULL,
    xid xid8 NOT NULL,
    event_hash bytea NOT NULL CHECK (length(event_hash) = 32),
    -- An event is a leaf once: a second integrator writing the same event fails here.
    CONSTRAINT merkle_leaves_position_key UNIQUE (position)
);

-- Complete runs of 1024 node hashes per tree level (level 0: leaf hashes), written when a run
-- fills, so start-up loads the tree in a few thousand rows and hashes only the unfinished runs.
CREATE TABLE merkle_node_chunks (
    level smallint NOT NULL CHECK (level >= 0),
    chunk bigint NOT NULL CHECK (chunk >= 0),
    hashes bytea NOT NULL CHECK (length(hashes) = 32 * 1024),
    PRIMARY KEY (level, chunk)
);

-- Every checkpoint the log's key signed: "the log held tree_size events with this root".
-- `document` is the published form ({"checkpoint": {...}, "signature"}) the verifier reads.
CREATE TABLE signed_checkpoints (
    tree_size bigint PRIMARY KEY CHECK (tree_size > 0),
    root_hash bytea NOT NULL CHECK (length(root_hash) = 32),
    signed_at timestamptz NOT NULL,
    key_id text NOT NULL,
    signature bytea NOT NULL,
    document jsonb NOT NULL
);

CREATE TRIGGER merkle_leaves_append_only BEFORE UPDATE OR DELETE ON merkle_leaves
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER merkle_leaves_no_truncate BEFORE TRUNCATE ON merkle_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER merkle_node_chunks_append_only BEFORE UPDATE OR DELETE ON merkle_node_chunks
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER merkle_node_chunks_no_truncate BEFORE TRUNCATE ON merkle_node_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER signed_checkpoints_append_only BEFORE UPDATE OR DELETE ON signed_checkpoints
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER signed_checkpoints_no_truncate BEFORE TRUNCATE ON signed_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
