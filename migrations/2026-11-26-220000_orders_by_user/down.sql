DROP INDEX orders_user_id_order_date_idx;
CREATE INDEX orders_user_id_idx ON orders (user_id);
