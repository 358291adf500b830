-- How many items an order has, kept on its row by the batch that adds
-- them: a batch reads it with the row it locks anyway, instead of counting
-- order_items for every order it touches.
ALTER TABLE orders ADD COLUMN item_count integer NOT NULL DEFAULT 0 CHECK (item_count >= 0);
UPDATE orders AS o SET item_count = c.n
  FROM (SELECT order_id, count(*) AS n FROM order_items GROUP BY order_id) AS c
 WHERE o.id = c.order_id;
