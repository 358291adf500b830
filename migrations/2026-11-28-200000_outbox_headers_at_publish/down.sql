ALTER TABLE outbox ADD COLUMN headers jsonb;
UPDATE outbox SET headers = jsonb_strip_nulls(jsonb_build_object(
    'content-type', 'application/x-protobuf',
    'ce_specversion', '1.0',
    'ce_id', event_id::text,
    'ce_source', 'order-service',
    'ce_type', event_type,
    'ce_time', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'ce_subject', order_id::text,
    'traceparent', traceparent));
ALTER TABLE outbox ALTER COLUMN headers SET NOT NULL;
ALTER TABLE outbox DROP COLUMN traceparent;
