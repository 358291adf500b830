-- An event's Kafka headers (content-type, the CloudEvents ce_* attributes)
-- follow from the row's own columns (event_id, event_type, order_id,
-- created_at), so the relay derives them when it publishes instead of
-- storing a jsonb document per event; only the trace context, which comes
-- from the command's record, is kept.
ALTER TABLE outbox ADD COLUMN traceparent varchar(55);
UPDATE outbox SET traceparent = headers ->> 'traceparent' WHERE headers ? 'traceparent';
ALTER TABLE outbox DROP COLUMN headers;
