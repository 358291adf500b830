-- GET /orders?user_id=… pages through a user's orders newest first.
DROP INDEX orders_user_id_idx;
CREATE INDEX orders_user_id_order_date_idx ON orders (user_id, order_date DESC, id DESC);
