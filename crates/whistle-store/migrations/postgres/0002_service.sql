-- Whistle schema v2 (PostgreSQL): accounts, tokens, sessions, idempotency keys, order text search.
-- Keep in step with sqlite/0002_service.sql.

CREATE TABLE users (
    login TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    unit TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    login TEXT,
    unit TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL
);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    login TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE idempotency (
    principal TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_id UUID NOT NULL,
    order_no TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (principal, key)
);

CREATE TABLE order_texts (
    order_id UUID PRIMARY KEY,
    text TEXT NOT NULL
);
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX order_texts_trgm ON order_texts USING gin (text gin_trgm_ops);

-- The deadline worker's queue: when the order next needs a due-soon or overdue notice.
ALTER TABLE orders ADD COLUMN notice_at BIGINT;
CREATE INDEX orders_notice ON orders (notice_at, id) WHERE notice_at IS NOT NULL;
