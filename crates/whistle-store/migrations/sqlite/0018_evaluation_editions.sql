-- Schema v18 (sqlite): a closed evaluation period keeps its figures as they were published
-- (一张卷子's editions): edition 1 when the period is closed, a revision for each later
-- adjustment (an unreasonable ruling, an upheld objection after the close), each with who
-- published it, when, and why. Never updated or deleted. Keep in step with the other backend.

CREATE TABLE evaluation_editions (
    period TEXT NOT NULL,
    edition BIGINT NOT NULL,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    by_user TEXT NOT NULL,
    by_unit TEXT NOT NULL,
    note TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (period, edition)
);

-- The adjustments a revision lists: the rulings and objection reviews after a close, by time.
CREATE INDEX events_adjusting ON events (at) WHERE kind IN ('ruled_unreasonable', 'dispute_reviewed');
