-- The command topic's partition count as the service first saw it (or as
-- an operator accepted it after growing the topic drained): keys map to
-- partitions by this count, so per-order order holds only while it stays.
-- The service compares the broker's count with it and reports a change.
CREATE TABLE command_topics (
    topic        varchar(249) PRIMARY KEY,
    partitions   integer      NOT NULL CHECK (partitions > 0),
    recorded_at  timestamptz  NOT NULL DEFAULT now()
);
