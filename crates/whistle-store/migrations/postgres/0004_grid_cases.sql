-- Whistle schema v4 (PostgreSQL): grid cases (网格发现) and their events. Keep in step with sqlite/0004_grid_cases.sql.

CREATE TABLE grid_cases (
    id UUID PRIMARY KEY,
    no TEXT NOT NULL,
    version BIGINT NOT NULL,
    street TEXT NOT NULL,
    stage TEXT NOT NULL,
    handler TEXT,
    category TEXT NOT NULL,
    filed_at BIGINT NOT NULL,
    verified_at BIGINT,
    state TEXT NOT NULL
);
CREATE UNIQUE INDEX grid_cases_no ON grid_cases (no);
CREATE INDEX grid_cases_street ON grid_cases (street, stage, filed_at);
CREATE INDEX grid_cases_handler ON grid_cases (handler, stage, filed_at);

CREATE TABLE grid_events (
    position BIGSERIAL PRIMARY KEY,
    case_id UUID NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor_user TEXT NOT NULL,
    actor_unit TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE UNIQUE INDEX grid_events_case ON grid_events (case_id, seq);
