-- Refused requests have their own retention ([api] audit_refused_retention,
-- audit.c).  A pruned row leaves a tombstone with its id and hash, so the
-- chain still verifies across it: the next row's prev_hash must match the
-- tombstone's hash, and a missing row without one is still a deletion.
CREATE TABLE audit_pruned (
	id		INTEGER PRIMARY KEY,
	hash		TEXT NOT NULL,
	t_ms		INTEGER NOT NULL
);

-- Only a refused request's row, and only with its tombstone, may go.
DROP TRIGGER audit_no_delete;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
WHEN NOT (OLD.action = 'refused' AND OLD.result = 'refused' AND EXISTS
    (SELECT 1 FROM audit_pruned WHERE id = OLD.id AND hash = OLD.hash))
BEGIN
	SELECT RAISE(ABORT, 'audit rows are append-only');
END;
