-- Operator state of routes and the audit hash chain (route.c, audit.c).

-- One row per route whose state was ever changed; a route with no row is
-- active.  expires_ms: the route returns to active by itself (ttl_s).
CREATE TABLE route_state (
	name		TEXT PRIMARY KEY,
	state		TEXT NOT NULL CHECK (state IN ('active', 'draining',
			    'maint')),
	reason		TEXT NOT NULL DEFAULT '',
	actor		TEXT NOT NULL DEFAULT '',
	operator	TEXT NOT NULL DEFAULT '',
	since_ms	INTEGER NOT NULL,
	expires_ms	INTEGER,
	forced		INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Append-only: hash = SHA-256(prev_hash || canonical form of the row),
-- see audit.c and vantaged(8).  AUTOINCREMENT so that a deleted last row
-- leaves a gap in the ids instead of being silently reused.
CREATE TABLE audit (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	t_ms		INTEGER NOT NULL,
	actor		TEXT NOT NULL,
	role		TEXT NOT NULL,
	operator	TEXT NOT NULL,
	source		TEXT NOT NULL,
	action		TEXT NOT NULL,
	target		TEXT NOT NULL,
	detail		TEXT NOT NULL,
	result		TEXT NOT NULL,
	prev_hash	TEXT NOT NULL,
	hash		TEXT NOT NULL
);
CREATE INDEX audit_actor ON audit (actor, id);
CREATE INDEX audit_action ON audit (action, id);

-- The agent never changes a row; these make an accidental change fail
-- loudly.  They do not stop a deliberate one (the chain shows that).
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit rows are append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit rows are append-only');
END;
