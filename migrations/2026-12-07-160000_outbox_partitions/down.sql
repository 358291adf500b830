-- One table again, holding every partition's rows.
LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE;
CREATE TABLE outbox_unpartitioned (
    id          bigint      PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    order_id    uuid        NOT NULL,
    event_type  varchar(64) NOT NULL,
    payload     bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    traceparent varchar(55)
);
-- An event id written twice while event_id was not unique (a conflict
-- answer from an old and a new release at once) keeps its first row.
INSERT INTO outbox_unpartitioned
SELECT DISTINCT ON (event_id) id, event_id, order_id, event_type, payload, created_at, traceparent
FROM outbox ORDER BY event_id, id;
ALTER SEQUENCE outbox_id_seq OWNED BY NONE;
DROP TABLE outbox;
ALTER TABLE outbox_unpartitioned RENAME TO outbox;
ALTER INDEX outbox_unpartitioned_pkey RENAME TO outbox_pkey;
ALTER INDEX outbox_unpartitioned_event_id_key RENAME TO outbox_event_id_key;
ALTER TABLE outbox ALTER COLUMN id SET DEFAULT nextval('outbox_id_seq');
ALTER SEQUENCE outbox_id_seq OWNED BY outbox.id;
DROP TABLE command_id_conflicts;
