-- The orders a period's export needs: those dispatched or return-visited in it, found by the
-- time of the event (those received in it come from orders_received). Partial: two kinds of
-- event out of some twenty.
CREATE INDEX events_evaluated ON events (at) WHERE kind IN ('dispatched', 'visited');
