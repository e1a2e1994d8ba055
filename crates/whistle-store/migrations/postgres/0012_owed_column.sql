-- What the handling units owe, for the inboxes' 重办 and 协办 tabs: a column the writer sets
-- (bit 1: a reopened order back with its unit and not yet answered; bit 2: a co-handler of the
-- current dispatch has not reported its part since it; NULL when neither). No index: the
-- inboxes reach their rows through order_units and filter these few.
ALTER TABLE orders ADD COLUMN owed SMALLINT;
UPDATE orders SET owed = NULLIF(
    (CASE WHEN (state::jsonb ->> 'reopen_count')::int > 0 THEN 1 ELSE 0 END)
  + (CASE WHEN EXISTS (
        SELECT 1 FROM jsonb_array_elements_text(state::jsonb -> 'stage' -> 'co_handlers') c(unit)
        WHERE NOT EXISTS (
            SELECT 1 FROM jsonb_array_elements(state::jsonb -> 'parts') p(part)
            WHERE p.part ->> 'unit' = c.unit
              AND (p.part ->> 'at')::timestamptz
                  >= (state::jsonb -> 'stage' ->> 'dispatched_at')::timestamptz))
     THEN 2 ELSE 0 END), 0)
WHERE stage IN ('dispatched', 'accepted');
