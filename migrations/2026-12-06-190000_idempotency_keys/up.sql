-- Idempotency keys of the HTTP front, claimed when a request is accepted
-- (not when its command is processed): the same key with another body is
-- refused at once, a retry of a claim whose publish failed publishes it
-- again (same command id). Scoped per principal (the token's scope, '' with
-- no tokens); purged after RETENTION_SECS like processed_commands.
CREATE TABLE idempotency_keys (
    principal   varchar(64) NOT NULL,
    key         uuid        NOT NULL,
    order_id    uuid        NOT NULL,
    body_hash   bigint      NOT NULL,
    published   boolean     NOT NULL DEFAULT false,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_claimed_at ON idempotency_keys (claimed_at);
