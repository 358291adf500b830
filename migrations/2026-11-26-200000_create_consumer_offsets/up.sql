-- The consumer's position per partition, written in the same transaction as
-- the commands it covers: the service seeks here on assignment, so progress
-- is exactly what is durable, across crashes and rebalances. Kafka's
-- committed offsets then only serve lag monitoring.
CREATE TABLE consumer_offsets (
    group_id    varchar(255) NOT NULL,
    topic       varchar(255) NOT NULL,
    "partition" integer      NOT NULL CHECK ("partition" >= 0),
    -- The next offset to read.
    next_offset bigint       NOT NULL CHECK (next_offset >= 0),
    updated_at  timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, "partition")
);
