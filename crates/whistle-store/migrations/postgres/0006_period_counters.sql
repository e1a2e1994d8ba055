-- Schema v6 (postgres): the evaluation counters summed per evaluation period (考核周期), kept with the
-- events in the same transaction as the day counters, so an evaluation reads the few thousand
-- (unit, category) cells of a period instead of every day's. Periods follow the policy's start
-- day, recorded in settings as 'eval_period_start_day'; a change of start day recounts this table
-- from eval_counters. Keep in step with the other backend.

CREATE TABLE eval_period_counters (
    period TEXT NOT NULL,
    unit TEXT NOT NULL,
    category TEXT NOT NULL,
    dispatched BIGINT NOT NULL,
    visits BIGINT NOT NULL,
    invalid_visits BIGINT NOT NULL,
    responded BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    satisfied BIGINT NOT NULL,
    basically_satisfied BIGINT NOT NULL,
    dissatisfied BIGINT NOT NULL,
    excluded BIGINT NOT NULL,
    PRIMARY KEY (period, unit, category)
);

-- Calendar-month periods from the day counters already kept; a store whose policy starts its
-- periods on another day recounts when it is opened.
INSERT INTO eval_period_counters
SELECT substr(day, 1, 7), unit, category, SUM(dispatched), SUM(visits), SUM(invalid_visits),
       SUM(responded), SUM(resolved), SUM(satisfied), SUM(basically_satisfied), SUM(dissatisfied),
       SUM(excluded)
FROM eval_counters GROUP BY substr(day, 1, 7), unit, category;

INSERT INTO settings (key, value) VALUES ('eval_period_start_day', '1');

-- The daily bulletin's "new overdue" section reads the supervision notices of a day; only those
-- events are indexed, so the append path of every other event is unchanged.
CREATE INDEX events_supervised ON events (at) WHERE kind = 'supervised';

-- Requests as received (受理量), per Beijing day and per calendar month, territory (the street,
-- or the district or city when no street is known) and category, counted from each order as it
-- stands (a corrected category or territory moves it) in the same transaction: the volumes bulletins, hotspots, governance-class
-- streets and topic candidates read, without scanning orders. Filled here for the orders
-- already stored; `whistle rebuild` recounts them.
CREATE TABLE intake_days (
    day TEXT NOT NULL,
    territory TEXT NOT NULL,
    category TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (day, territory, category)
);
CREATE TABLE intake_months (
    month TEXT NOT NULL,
    territory TEXT NOT NULL,
    category TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (month, territory, category)
);

INSERT INTO intake_days
SELECT to_char(to_timestamp((received_at / 1000 + 28800)::double precision) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), COALESCE(street, district, '11'), category, COUNT(*)
FROM orders GROUP BY 1, 2, 3;
INSERT INTO intake_months
SELECT substr(day, 1, 7), territory, category, SUM(count) FROM intake_days GROUP BY 1, 2, 3;

-- The public place of a request (its address without door numbers), written with the order:
-- repeat detection and high-frequency places read it without parsing each order's state.
ALTER TABLE orders ADD COLUMN place TEXT;
UPDATE orders SET place = (state::json -> 'location' ->> 'address');

-- The daily bulletin's mix by type, channel and urgency reads a day of orders from this index
-- alone.
CREATE INDEX orders_mix ON orders (received_at, request_type, channel, urgency);
