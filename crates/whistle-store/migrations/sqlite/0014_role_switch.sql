-- A person may hold several roles (a shift leader who supervises and dispatches, a street
-- official who also handles the street's orders): the account's further roles, each with its
-- unit, as a JSON array [{"role": …, "unit": …}] beside its first role; and the role a login
-- session acts in (NULL: the account's first role).
ALTER TABLE users ADD COLUMN other_roles TEXT NOT NULL DEFAULT '[]';
ALTER TABLE sessions ADD COLUMN role TEXT;
ALTER TABLE sessions ADD COLUMN unit TEXT;
