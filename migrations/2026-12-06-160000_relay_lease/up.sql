-- The publisher role becomes a lease in this row instead of a session
-- advisory lock: whoever holds it renews `lease_until` every few seconds,
-- and another instance may take it once it has passed. Each taking bumps
-- `generation`; the holder's writes (watermark, renewal) name the
-- generation they belong to, so a deposed holder changes nothing.
-- `transactional_id` is the relay's Kafka transactional.id: kept beside
-- the outbox, so every deployment sharing this database fences every
-- other's publisher, and deployments with databases of their own never
-- fence each other.
ALTER TABLE outbox_relay
    ADD COLUMN transactional_id varchar(200) NOT NULL
        DEFAULT 'order-service-relay-' || gen_random_uuid(),
    ADD COLUMN holder varchar(200),
    ADD COLUMN generation bigint NOT NULL DEFAULT 0,
    ADD COLUMN lease_until timestamptz,
    -- Set once a holder committed a position to the progress topic: from
    -- then on a missing position is an error, not a first start (resuming
    -- from the watermark would publish again what lies above it).
    ADD COLUMN kafka_position boolean NOT NULL DEFAULT false;
