-- The return-visit desk's shift counters: an agent's visits since the start of the shift, from
-- an index holding only the visit events (one of the dozen an order's life writes).
CREATE INDEX events_visits_by ON events (actor_user, at) WHERE kind = 'visited';
