-- The outbox partitioned by id range, so expiry drops whole partitions
-- instead of deleting row by row (each DELETE a dead row, an index entry to
-- vacuum and WAL). The relay reads by id, so its reads stay in one or two
-- partitions. The housekeeper makes the partitions ahead of the id sequence
-- (OUTBOX_PARTITION_IDS ids each) and drops one once every id in it is at or
-- below the relay's watermark and its last row is older than RETENTION_SECS.
-- A row whose id no partition covers yet (the housekeeper fell behind) goes
-- to outbox_part_default, which is purged row by row as before.
--
-- A unique index on a partitioned table must include the partition key, so
-- event_id is no longer unique across the outbox: the answers to reused
-- command ids (whose event ids are derived, and must be written once) are
-- claimed in command_id_conflicts instead, a small table of their own.
LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE;

CREATE TABLE command_id_conflicts (
    event_id    uuid        PRIMARY KEY,
    answered_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX command_id_conflicts_answered_at_idx ON command_id_conflicts (answered_at);
-- The answers written so far: rejections no processed command caused.
INSERT INTO command_id_conflicts (event_id, answered_at)
SELECT o.event_id, o.created_at FROM outbox o
WHERE o.event_type = 'CommandRejected'
  AND NOT EXISTS (SELECT 1 FROM processed_commands p WHERE p.event_id = o.event_id)
ON CONFLICT DO NOTHING;

-- The rows written so far become the first partition, up to the next id.
ALTER TABLE outbox RENAME TO outbox_part_legacy;
ALTER INDEX outbox_pkey RENAME TO outbox_part_legacy_pkey;
ALTER TABLE outbox_part_legacy DROP CONSTRAINT outbox_event_id_key;
CREATE TABLE outbox (
    id          bigint      NOT NULL DEFAULT nextval('outbox_id_seq'),
    event_id    uuid        NOT NULL,
    order_id    uuid        NOT NULL,
    event_type  varchar(64) NOT NULL,
    payload     bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    traceparent varchar(55),
    PRIMARY KEY (id)
) PARTITION BY RANGE (id);
ALTER TABLE outbox_part_legacy ALTER COLUMN id DROP DEFAULT;
ALTER SEQUENCE outbox_id_seq OWNED BY outbox.id;
DO $$
BEGIN
    EXECUTE format(
        'ALTER TABLE outbox ATTACH PARTITION outbox_part_legacy FOR VALUES FROM (MINVALUE) TO (%s)',
        (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM outbox_id_seq));
END $$;
CREATE TABLE outbox_part_default PARTITION OF outbox DEFAULT;
