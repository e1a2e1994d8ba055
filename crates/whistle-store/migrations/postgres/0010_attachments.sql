-- Attachments (photos, documents) of orders: content-addressed (sha256) within an order, so the
-- same file sent twice is stored once. Never public: read through the order's scope.
CREATE TABLE attachments (
    order_id UUID NOT NULL,
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    added_at BIGINT NOT NULL,
    added_by TEXT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (order_id, sha256)
);
