"""The court file: the printable page of a record, its signed links, the record as known then."""
