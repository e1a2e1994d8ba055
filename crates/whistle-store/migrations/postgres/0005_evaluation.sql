-- Schema v5 (postgres): the evaluation counters (一张卷子), kept with the events: per Beijing day,
-- lead unit and category, the counts an evaluation sums. Keep in step with the other backend.

CREATE TABLE eval_counters (
    day TEXT NOT NULL,
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
    PRIMARY KEY (day, unit, category)
);
