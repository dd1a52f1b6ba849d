"""The PostgreSQL event store: appends, reads, the log's order, row decoding and migrations."""
