-- Whistle schema v2 (SQLite): accounts, tokens, sessions, idempotency keys, order text search.
-- Keep in step with postgres/0002_service.sql.

CREATE TABLE users (
    login TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    unit TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);

-- An integration token is shown once as `wht_<id>_<secret>`; only a hash of the secret is kept.
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

-- A retried write with the same key returns the first result (written with the command).
CREATE TABLE idempotency (
    principal TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_id BLOB NOT NULL,
    order_no TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (principal, key)
);

-- Request text, searchable by substring (Chinese has no spaces): a trigram index.
CREATE TABLE order_texts (
    order_id BLOB PRIMARY KEY,
    text TEXT NOT NULL
);
CREATE VIRTUAL TABLE order_texts_fts USING fts5(text, content = 'order_texts', tokenize = 'trigram');

-- The deadline worker's queue: when the order next needs a due-soon or overdue notice.
ALTER TABLE orders ADD COLUMN notice_at BIGINT;
CREATE INDEX orders_notice ON orders (notice_at, id) WHERE notice_at IS NOT NULL;
