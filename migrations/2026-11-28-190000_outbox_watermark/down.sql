ALTER TABLE outbox ADD COLUMN published_at timestamptz;
UPDATE outbox SET published_at = now()
 WHERE id <= (SELECT published_through FROM outbox_relay);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
ALTER TABLE outbox SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 10000,
    autovacuum_vacuum_cost_delay = 0
);
DROP TABLE outbox_relay;
