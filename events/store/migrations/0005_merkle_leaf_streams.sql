-- Which operation (and version) each leaf of the Merkle log is, so an export can check that every
-- event of the operation the log integrated is still in the database: a row deleted behind the
-- triggers' back, even the last one, is then named instead of silently missing from the bundle.
-- Not hashed into the tree; leaves integrated before this migration keep NULL here.
ALTER TABLE merkle_leaves ADD COLUMN stream_id uuid, ADD COLUMN version integer;
CREATE INDEX merkle_leaves_stream ON merkle_leaves (stream_id, version);
