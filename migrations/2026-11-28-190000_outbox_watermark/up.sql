-- The relay's progress as one watermark instead of a mark on every row:
-- every outbox row with id <= published_through has been acknowledged by
-- the broker. The relay advances it over a contiguous prefix only (never
-- past a row still in flight or an id whose transaction may still commit),
-- so rows above it are the backlog and reading resumes there without
-- walking the index entries of published rows. Marking published cost an
-- UPDATE per event (a new row version, index entries, WAL); the watermark
-- costs one single-row UPDATE per group of acknowledgements.
-- No writer may commit a row below the watermark set here.
LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE;

CREATE TABLE outbox_relay (
    -- One row: the table holds the watermark and nothing else.
    singleton         boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    published_through bigint      NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
-- Rows below the first unpublished one were published; anything above it
-- is published (again) by the relay: repeats with the same event_id.
INSERT INTO outbox_relay (published_through)
SELECT coalesce(
    (SELECT min(id) - 1 FROM outbox WHERE published_at IS NULL),
    (SELECT max(id) FROM outbox),
    0);

DROP INDEX outbox_unpublished_idx;
-- The relay's gaps rest on ids drawn in order, after the writer took its
-- transaction id: no ids cached per session.
ALTER SEQUENCE outbox_id_seq CACHE 1;
ALTER TABLE outbox DROP COLUMN published_at;
-- No more updates leave dead rows behind: the purge's deletes are the
-- only ones, and the default autovacuum settings suit them.
ALTER TABLE outbox RESET (
    autovacuum_vacuum_scale_factor,
    autovacuum_vacuum_threshold,
    autovacuum_vacuum_cost_delay
);
