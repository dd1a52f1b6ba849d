"""The alerts projection's tables, and the statements that write a batch's facts to them (one
statement per table, each row an element of the parameters' arrays)."""

TABLES = (
    "alert_operations",
    "alert_journeys",
    "alert_cases",
    "alert_consents",
    "alert_prosecutions",
    "alert_acknowledgements",
)
"""The projection's tables (the webhook's `alert_deliveries` is not one: a rebuild keeps it)."""

UPSERT_OPERATIONS = """
INSERT INTO alert_operations (operation_id, open, stage, last_update, awaiting_review_since)
SELECT row.operation_id, row.open, row.stage,
       -- a batch of only acknowledgements keeps the stored time
       COALESCE(row.last_update, (SELECT stored.last_update FROM alert_operations stored
                                   WHERE stored.operation_id = row.operation_id)),
       row.awaiting_review_since
  FROM unnest($1::uuid[], $2::boolean[], $3::text[], $4::timestamptz[], $5::timestamptz[])
       AS row (operation_id, open, stage, last_update, awaiting_review_since)
ON CONFLICT (operation_id) DO UPDATE
   SET open = EXCLUDED.open, stage = EXCLUDED.stage,
       last_update = GREATEST(alert_operations.last_update, EXCLUDED.last_update),
       awaiting_review_since = EXCLUDED.awaiting_review_since
"""
# A status she already had keeps the time she reached it.
UPSERT_JOURNEYS = """
INSERT INTO alert_journeys (operation_id, survivor_id, status, status_since, registered_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[])
ON CONFLICT (survivor_id, operation_id) DO UPDATE
   SET status = EXCLUDED.status,
       status_since = CASE WHEN alert_journeys.status = EXCLUDED.status
                           THEN alert_journeys.status_since ELSE EXCLUDED.status_since END
"""
UPSERT_CASES = """
INSERT INTO alert_cases (survivor_id, last_service_at, hold)
SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[])
ON CONFLICT (survivor_id) DO UPDATE
   SET last_service_at = EXCLUDED.last_service_at, hold = EXCLUDED.hold
"""
UPSERT_CONSENTS = """
INSERT INTO alert_consents (survivor_id, recipient, standing, changed_at)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::boolean[], $4::timestamptz[])
ON CONFLICT (survivor_id, recipient) DO UPDATE
   SET standing = EXCLUDED.standing, changed_at = EXCLUDED.changed_at
"""
# Operation ids travel as one array literal per row ('{id,id}').
UPSERT_PROSECUTIONS = """
INSERT INTO alert_prosecutions (prosecution_id, survivor_id, operation_ids, opened_at, open)
SELECT prosecution_id, survivor_id, operation_ids::uuid[], opened_at, open
  FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::boolean[])
       AS row (prosecution_id, survivor_id, operation_ids, opened_at, open)
ON CONFLICT (prosecution_id, survivor_id) DO UPDATE
   SET operation_ids = EXCLUDED.operation_ids, opened_at = EXCLUDED.opened_at,
       open = EXCLUDED.open
"""
INSERT_ACKNOWLEDGEMENTS = """
INSERT INTO alert_acknowledgements
    (event_id, alert_id, operation_id, acknowledged_by, acknowledged_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[])
ON CONFLICT (event_id) DO NOTHING
"""
