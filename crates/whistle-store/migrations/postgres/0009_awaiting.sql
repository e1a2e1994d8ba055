-- The dispatch centre's queues (派单异议, 延期申请): orders whose stored state holds a pending
-- dispute or extension. Partial indexes over the state, so the few waiting orders are found
-- without reading the table; the list query's condition is the same expression.
CREATE INDEX orders_disputed ON orders (received_at, id) WHERE (state::jsonb ->> 'dispute') IS NOT NULL;
CREATE INDEX orders_extension ON orders (received_at, id) WHERE (state::jsonb ->> 'extension') IS NOT NULL;
