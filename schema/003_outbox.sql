-- Alerts waiting for their webhooks (alert.c).  One row per state change
-- and [alert] section; the row goes when the webhook answered 2xx.
-- idem_key is sent as Idempotency-Key: the same for every attempt.
CREATE TABLE outbox (
	alert		TEXT NOT NULL,
	idem_key	TEXT NOT NULL,
	created_ms	INTEGER NOT NULL,
	body		TEXT NOT NULL,
	attempts	INTEGER NOT NULL DEFAULT 0,
	next_ms		INTEGER NOT NULL,
	last_error	TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (alert, idem_key)
) WITHOUT ROWID;
