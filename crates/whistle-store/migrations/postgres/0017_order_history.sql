-- Schema v17 (postgres): the evaluation follows each order's history. The counter cells gain the
-- co-handlers' parts (owed, in time) and the dispatchers' dispatches (made, overturned by an
-- upheld objection). Orders stored before this version lack the history record the counts are
-- derived from: a database that holds orders is marked for a replay of every order from its
-- events (`whistle migrate` does it, the service refuses to start until it is done).
-- Keep in step with the other backend.

ALTER TABLE eval_counters ADD COLUMN parts_owed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE eval_counters ADD COLUMN parts_in_time BIGINT NOT NULL DEFAULT 0;
ALTER TABLE eval_counters ADD COLUMN dispatches_made BIGINT NOT NULL DEFAULT 0;
ALTER TABLE eval_counters ADD COLUMN misdispatches BIGINT NOT NULL DEFAULT 0;
ALTER TABLE eval_period_counters ADD COLUMN parts_owed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE eval_period_counters ADD COLUMN parts_in_time BIGINT NOT NULL DEFAULT 0;
ALTER TABLE eval_period_counters ADD COLUMN dispatches_made BIGINT NOT NULL DEFAULT 0;
ALTER TABLE eval_period_counters ADD COLUMN misdispatches BIGINT NOT NULL DEFAULT 0;
INSERT INTO settings (key, value) SELECT 'replay_orders', 'order history record'
WHERE EXISTS (SELECT 1 FROM orders);

-- A period's export reads the orders whose history contributes to it: a co-handler's part is
-- owed on the day of the lead's reply, so replies are found by their time too.
DROP INDEX events_evaluated;
CREATE INDEX events_evaluated ON events (at) WHERE kind IN ('dispatched', 'replied', 'visited');
