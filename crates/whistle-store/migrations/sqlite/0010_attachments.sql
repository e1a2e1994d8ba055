-- Attachments (photos, documents) of orders: content-addressed (sha256) within an order, so the
-- same file sent twice is stored once. Never public: read through the order's scope.
CREATE TABLE attachments (
    order_id BLOB NOT NULL,
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    added_at BIGINT NOT NULL,
    added_by TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (order_id, sha256)
);
