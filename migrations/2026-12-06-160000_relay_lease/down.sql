ALTER TABLE outbox_relay
    DROP COLUMN transactional_id,
    DROP COLUMN holder,
    DROP COLUMN generation,
    DROP COLUMN lease_until,
    DROP COLUMN kafka_position;
