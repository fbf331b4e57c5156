-- Exact operator actions (route_sql.c): which request set a route's state,
-- and the outcome of every decided request by its Idempotency-Key.

-- The Idempotency-Key and batch id of the request that set the current
-- state ('' when none: older rows, the keeper, requests without a key).
ALTER TABLE route_state ADD COLUMN request_key TEXT NOT NULL DEFAULT '';
ALTER TABLE route_state ADD COLUMN batch TEXT NOT NULL DEFAULT '';

-- The same on every audit row; they enter the row's hash only when one of
-- them is set, so rows written before this migration verify unchanged.
ALTER TABLE audit ADD COLUMN request_key TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN batch TEXT NOT NULL DEFAULT '';

-- Decided requests by (actor, Idempotency-Key), kept 24 hours: a repeat
-- gets the stored answer and changes nothing.  fingerprint is SHA-256 of
-- method, path and body, so a different request under a used key is told
-- apart from a repeat.
CREATE TABLE request_key (
	actor		TEXT NOT NULL,
	key		TEXT NOT NULL,
	t_ms		INTEGER NOT NULL,
	fingerprint	TEXT NOT NULL,
	status		INTEGER NOT NULL,
	body		TEXT NOT NULL,
	PRIMARY KEY (actor, key)
) WITHOUT ROWID;
CREATE INDEX request_key_t ON request_key (t_ms);
