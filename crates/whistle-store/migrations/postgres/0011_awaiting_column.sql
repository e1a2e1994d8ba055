-- The dispatch centre's queues from a column the writer sets (bit 1: a pending dispute, bit 2: a
-- pending extension request; NULL when neither) instead of v9's partial indexes over the stored
-- JSON, which made every write of an order evaluate its state (PostgreSQL's engine bench lost a
-- sixth: BENCHMARKS, "The hotline's desks").
ALTER TABLE orders ADD COLUMN awaiting SMALLINT;
UPDATE orders SET awaiting =
    (CASE WHEN (state::jsonb ->> 'dispute') IS NOT NULL THEN 1 ELSE 0 END)
  + (CASE WHEN (state::jsonb ->> 'extension') IS NOT NULL THEN 2 ELSE 0 END)
WHERE (state::jsonb ->> 'dispute') IS NOT NULL OR (state::jsonb ->> 'extension') IS NOT NULL;
DROP INDEX orders_disputed;
DROP INDEX orders_extension;
CREATE INDEX orders_awaiting ON orders (received_at, id) WHERE awaiting IS NOT NULL;
