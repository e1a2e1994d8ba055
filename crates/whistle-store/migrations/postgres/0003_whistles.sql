-- Whistle schema v3 (PostgreSQL): whistles (吹哨) and their events. Keep in step with sqlite/0003_whistles.sql.

CREATE TABLE whistles (
    id UUID PRIMARY KEY,
    no TEXT NOT NULL,
    version BIGINT NOT NULL,
    street TEXT NOT NULL,
    district TEXT NOT NULL,
    kind TEXT NOT NULL,
    stage TEXT NOT NULL,
    order_no TEXT,
    raised_at BIGINT NOT NULL,
    closed_at BIGINT,
    escalated BOOLEAN NOT NULL,
    absence_at BIGINT,
    state TEXT NOT NULL
);
CREATE UNIQUE INDEX whistles_no ON whistles (no);
CREATE INDEX whistles_street ON whistles (street, raised_at, id);
CREATE INDEX whistles_district ON whistles (district, raised_at, id);
CREATE INDEX whistles_absence ON whistles (absence_at, id) WHERE absence_at IS NOT NULL;

-- Every unit a whistle summoned (ever), for "the whistles that summon my unit".
CREATE TABLE whistle_units (
    unit TEXT NOT NULL,
    raised_at BIGINT NOT NULL,
    whistle_id UUID NOT NULL,
    PRIMARY KEY (unit, raised_at, whistle_id)
);

CREATE TABLE whistle_events (
    position BIGSERIAL PRIMARY KEY,
    whistle_id UUID NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor_user TEXT NOT NULL,
    actor_unit TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE UNIQUE INDEX whistle_events_whistle ON whistle_events (whistle_id, seq);
