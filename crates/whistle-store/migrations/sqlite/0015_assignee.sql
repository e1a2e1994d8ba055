-- 承办人: the person of the lead unit the order is assigned to (a login), set by the writers
-- from the order's state (`Order::assignee` of the lead unit): the inbox's "assigned to me" and
-- "not yet assigned" lists. No stored order has an assignment before this version.
ALTER TABLE orders ADD COLUMN assignee TEXT;
CREATE INDEX orders_assignee ON orders (assignee, received_at, id) WHERE assignee IS NOT NULL;
-- A unit's people, for the assignment's choice of colleagues: by first role, and the few
-- accounts with further roles.
CREATE INDEX users_unit ON users (unit);
CREATE INDEX users_other_roles ON users (login) WHERE other_roles <> '[]';
