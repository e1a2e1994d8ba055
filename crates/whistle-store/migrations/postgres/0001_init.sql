-- Whistle schema v1 (PostgreSQL). Keep in step with sqlite/0001_init.sql: a test compares them.
-- Times are milliseconds since the Unix epoch (UTC); order ids are UUIDs.

CREATE TABLE units (
    code TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    parent TEXT,
    line TEXT,
    status TEXT NOT NULL,
    merged_into TEXT
);
CREATE INDEX units_parent ON units (parent);

CREATE TABLE unit_changes (
    position BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    change TEXT NOT NULL
);

CREATE TABLE categories (
    code TEXT PRIMARY KEY,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    handler TEXT NOT NULL,
    urgency TEXT NOT NULL,
    limit_class TEXT NOT NULL,
    public BOOLEAN NOT NULL
);

CREATE TABLE catalogue_versions (
    version BIGINT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL
);

CREATE TABLE catalogue_entries (
    version BIGINT NOT NULL,
    category TEXT NOT NULL,
    territory TEXT NOT NULL,
    lead TEXT NOT NULL,
    co_handlers TEXT NOT NULL,
    PRIMARY KEY (version, category, territory)
);

CREATE TABLE duties (
    holder TEXT NOT NULL,
    category TEXT NOT NULL,
    PRIMARY KEY (holder, category)
);

CREATE TABLE calendar_years (
    year BIGINT PRIMARY KEY,
    source TEXT NOT NULL,
    days TEXT NOT NULL
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE order_counters (
    day TEXT PRIMARY KEY,
    last BIGINT NOT NULL
);

CREATE TABLE orders (
    id UUID PRIMARY KEY,
    no TEXT NOT NULL,
    version BIGINT NOT NULL,
    stage TEXT NOT NULL,
    request_type TEXT NOT NULL,
    channel TEXT NOT NULL,
    category TEXT NOT NULL,
    urgency TEXT NOT NULL,
    district TEXT,
    street TEXT,
    community TEXT,
    lead_unit TEXT,
    received_at BIGINT NOT NULL,
    respond_by BIGINT,
    handle_by BIGINT,
    next_due_at BIGINT,
    closed_at BIGINT,
    excluded BOOLEAN NOT NULL,
    state TEXT NOT NULL
);
CREATE UNIQUE INDEX orders_no ON orders (no);
CREATE INDEX orders_received ON orders (received_at, id);
CREATE INDEX orders_district ON orders (district, received_at, id);
CREATE INDEX orders_street ON orders (street, received_at, id);
CREATE INDEX orders_stage ON orders (stage, received_at, id);
CREATE INDEX orders_category ON orders (category, received_at, id);
CREATE INDEX orders_due ON orders (next_due_at, id) WHERE next_due_at IS NOT NULL;

CREATE TABLE order_units (
    unit TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    order_id UUID NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (unit, received_at, order_id)
);

CREATE TABLE events (
    position BIGSERIAL PRIMARY KEY,
    order_id UUID NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor_user TEXT NOT NULL,
    actor_unit TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE UNIQUE INDEX events_order ON events (order_id, seq);

CREATE TABLE requesters (
    order_id UUID PRIMARY KEY,
    name TEXT,
    phone TEXT,
    address_detail TEXT
);
