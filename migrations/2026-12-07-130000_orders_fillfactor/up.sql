-- Nearly every command updates its order's row (version, totals, statuses,
-- updated_at) and none of those columns is indexed, so the new row version
-- can stay on the page of the old one — a HOT update, which writes no index
-- entry — if that page has room. Inserted full (fillfactor 100), a page of
-- orders has none, and an update then writes an entry into both of the
-- table's indexes (a quarter of the orders' updates in a 42,000-command
-- burst of `order-service bench`). Leave a fifth of each page for the updates.
-- Pages already written keep their layout until the table is rewritten.
ALTER TABLE orders SET (fillfactor = 80);
