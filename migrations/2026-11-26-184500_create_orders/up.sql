-- The seed data model (orders, order_items, payments, order_status_history)
-- plus processed_commands (idempotency) and outbox (events to publish).
-- CHECK constraints and foreign keys mirror the domain rules, so a wrong row
-- is refused by the database even if the code let it through. Every table is
-- keyed or indexed by order_id: it can be distributed by that column.

CREATE TABLE orders (
    id               uuid PRIMARY KEY,
    user_id          varchar(64)  NOT NULL CHECK (btrim(user_id) <> ''),
    status           varchar(16)  NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'confirmed', 'shipped', 'delivered', 'cancelled')),
    payment_status   varchar(16)  NOT NULL DEFAULT 'pending'
        CHECK (payment_status IN ('pending', 'completed', 'failed', 'refunded')),
    total_amount     bigint       NOT NULL DEFAULT 0 CHECK (total_amount >= 0),
    currency         varchar(3)   NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    shipping_address varchar(500) NOT NULL CHECK (btrim(shipping_address) <> ''),
    order_date       timestamptz  NOT NULL DEFAULT now(),
    updated_at       timestamptz  NOT NULL DEFAULT now(),
    -- Sequence of the order's last event.
    version          bigint       NOT NULL DEFAULT 1 CHECK (version >= 1),
    -- A confirmed (or later, non-cancelled) order has been paid.
    CHECK (status NOT IN ('confirmed', 'shipped', 'delivered')
           OR payment_status IN ('completed', 'refunded'))
);
CREATE INDEX orders_user_id_idx ON orders (user_id);

CREATE TABLE order_items (
    id             uuid PRIMARY KEY,
    order_id       uuid        NOT NULL REFERENCES orders (id),
    product_id     varchar(64) NOT NULL CHECK (btrim(product_id) <> ''),
    quantity       integer     NOT NULL CHECK (quantity > 0),
    price_per_unit bigint      NOT NULL CHECK (price_per_unit >= 0),
    total_price    bigint      NOT NULL,
    CHECK (total_price = quantity * price_per_unit)
);
CREATE INDEX order_items_order_id_idx ON order_items (order_id);

CREATE TABLE payments (
    id             uuid PRIMARY KEY,
    order_id       uuid         NOT NULL REFERENCES orders (id),
    amount         bigint       NOT NULL CHECK (amount >= 0),
    payment_method varchar(50)  NOT NULL CHECK (btrim(payment_method) <> ''),
    status         varchar(16)  NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'completed', 'failed', 'refunded')),
    transaction_id varchar(100) NOT NULL UNIQUE CHECK (btrim(transaction_id) <> ''),
    created_at     timestamptz  NOT NULL DEFAULT now(),
    updated_at     timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX payments_order_id_idx ON payments (order_id);
-- At most one payment per order may be pending or completed.
CREATE UNIQUE INDEX payments_one_active_per_order ON payments (order_id)
    WHERE status IN ('pending', 'completed');

CREATE TABLE order_status_history (
    id          uuid PRIMARY KEY,
    order_id    uuid         NOT NULL REFERENCES orders (id),
    -- NULL for the row written when the order is created.
    from_status varchar(16)
        CHECK (from_status IN ('pending', 'confirmed', 'shipped', 'delivered', 'cancelled')),
    status      varchar(16)  NOT NULL
        CHECK (status IN ('pending', 'confirmed', 'shipped', 'delivered', 'cancelled')),
    reason      varchar(500),
    "timestamp" timestamptz  NOT NULL DEFAULT now(),
    command_id  uuid         NOT NULL
);
CREATE INDEX order_status_history_order_id_idx ON order_status_history (order_id, "timestamp");

-- One row per command ever applied or rejected: a redelivered command_id
-- finds its row and changes nothing.
CREATE TABLE processed_commands (
    command_id     uuid PRIMARY KEY,
    order_id       uuid        NOT NULL,
    outcome        varchar(16) NOT NULL CHECK (outcome IN ('applied', 'rejected')),
    rejection_code varchar(32),
    processed_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((outcome = 'rejected') = (rejection_code IS NOT NULL))
);
CREATE INDEX processed_commands_processed_at_idx ON processed_commands (processed_at);

-- Events written in the same transaction as the state change they describe;
-- the relay publishes them in id order and stamps published_at.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    -- The Kafka key: the order id.
    order_id     uuid        NOT NULL,
    event_type   varchar(64) NOT NULL,
    payload      bytea       NOT NULL,
    -- Kafka headers, name → value.
    headers      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
