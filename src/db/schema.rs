// @generated automatically by Diesel CLI.

diesel::table! {
    command_id_conflicts (event_id) {
        event_id -> Uuid,
        answered_at -> Timestamptz,
    }
}

diesel::table! {
    command_topics (topic) {
        #[max_length = 249]
        topic -> Varchar,
        partitions -> Int4,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    consumer_offsets (group_id, topic, partition) {
        #[max_length = 255]
        group_id -> Varchar,
        #[max_length = 255]
        topic -> Varchar,
        partition -> Int4,
        next_offset -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (principal, key) {
        #[max_length = 64]
        principal -> Varchar,
        key -> Uuid,
        order_id -> Uuid,
        body_hash -> Int8,
        published -> Bool,
        claimed_at -> Timestamptz,
    }
}

diesel::table! {
    order_items (id) {
        id -> Uuid,
        order_id -> Uuid,
        #[max_length = 64]
        product_id -> Varchar,
        quantity -> Int4,
        price_per_unit -> Int8,
        total_price -> Int8,
    }
}

diesel::table! {
    order_status_history (id) {
        id -> Uuid,
        order_id -> Uuid,
        #[max_length = 16]
        from_status -> Nullable<Varchar>,
        #[max_length = 16]
        status -> Varchar,
        #[max_length = 500]
        reason -> Nullable<Varchar>,
        timestamp -> Timestamptz,
        command_id -> Uuid,
    }
}

diesel::table! {
    orders (id) {
        id -> Uuid,
        #[max_length = 64]
        user_id -> Varchar,
        #[max_length = 16]
        status -> Varchar,
        #[max_length = 16]
        payment_status -> Varchar,
        total_amount -> Int8,
        #[max_length = 3]
        currency -> Varchar,
        #[max_length = 500]
        shipping_address -> Varchar,
        order_date -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
        item_count -> Int4,
    }
}

diesel::table! {
    outbox (id) {
        id -> Int8,
        event_id -> Uuid,
        order_id -> Uuid,
        #[max_length = 64]
        event_type -> Varchar,
        payload -> Bytea,
        created_at -> Timestamptz,
        #[max_length = 55]
        traceparent -> Nullable<Varchar>,
    }
}

diesel::table! {
    outbox_relay (singleton) {
        singleton -> Bool,
        published_through -> Int8,
        updated_at -> Timestamptz,
        #[max_length = 200]
        transactional_id -> Varchar,
        #[max_length = 200]
        holder -> Nullable<Varchar>,
        generation -> Int8,
        lease_until -> Nullable<Timestamptz>,
        kafka_position -> Bool,
    }
}

diesel::table! {
    payments (id) {
        id -> Uuid,
        order_id -> Uuid,
        amount -> Int8,
        #[max_length = 50]
        payment_method -> Varchar,
        #[max_length = 16]
        status -> Varchar,
        #[max_length = 100]
        transaction_id -> Varchar,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    processed_commands (command_id) {
        command_id -> Uuid,
        order_id -> Uuid,
        #[max_length = 16]
        outcome -> Varchar,
        #[max_length = 32]
        rejection_code -> Nullable<Varchar>,
        processed_at -> Timestamptz,
        body_hash -> Nullable<Int8>,
        event_id -> Nullable<Uuid>,
        #[max_length = 64]
        event_type -> Nullable<Varchar>,
        rejection_message -> Nullable<Text>,
    }
}

diesel::joinable!(order_items -> orders (order_id));
diesel::joinable!(order_status_history -> orders (order_id));
diesel::joinable!(payments -> orders (order_id));

diesel::allow_tables_to_appear_in_same_query!(
    command_id_conflicts,
    command_topics,
    consumer_offsets,
    idempotency_keys,
    order_items,
    order_status_history,
    orders,
    outbox,
    outbox_relay,
    payments,
    processed_commands,
);
