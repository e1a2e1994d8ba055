-- Retention: the worker purges idempotency records older than the policy's days and expired
-- login sessions, a batch at a time, through these indexes (a scan of millions of keys every
-- tick would not do).
CREATE INDEX idempotency_created ON idempotency (created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
