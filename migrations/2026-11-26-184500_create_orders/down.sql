DROP TABLE outbox;
DROP TABLE processed_commands;
DROP TABLE order_status_history;
DROP TABLE payments;
DROP TABLE order_items;
DROP TABLE orders;
