-- What the handling units owe, for the inboxes' 重办 and 协办 tabs: a column the writer sets
-- (bit 1: a reopened order back with its unit and not yet answered; bit 2: a co-handler of the
-- current dispatch has not reported its part since it; NULL when neither). No index: the
-- inboxes reach their rows through order_units and filter these few.
ALTER TABLE orders ADD COLUMN owed SMALLINT;
UPDATE orders SET owed = NULLIF(
    (CASE WHEN json_extract(state, '$.reopen_count') > 0 THEN 1 ELSE 0 END)
  + (CASE WHEN EXISTS (
        SELECT 1 FROM json_each(orders.state, '$.stage.co_handlers') c
        WHERE NOT EXISTS (
            SELECT 1 FROM json_each(orders.state, '$.parts') p
            WHERE json_extract(p.value, '$.unit') = c.value
              AND julianday(json_extract(p.value, '$.at'))
                  >= julianday(json_extract(orders.state, '$.stage.dispatched_at'))))
     THEN 2 ELSE 0 END), 0)
WHERE stage IN ('dispatched', 'accepted');
