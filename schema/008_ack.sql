-- Alertmanager rows of the outbox (alert.c) name their probe: a probe's
-- newer change replaces its older row for that [alert], and a row whose
-- alert still fires stays after a 2xx, to be sent again at next_ms.
-- NULL for webhook rows, which go after their 2xx.
ALTER TABLE outbox ADD COLUMN probe TEXT;
CREATE INDEX outbox_probe ON outbox (alert, probe) WHERE probe IS NOT NULL;

-- Acknowledged probes (alert.c, POST /v1/probes/NAME/ack): while one is
-- here and until_ms is ahead, its firing alerts are not sent again.  The
-- row goes with the ack's DELETE, its expiry, or the probe's next stored
-- change (one made after created_ms).
CREATE TABLE ack (
	probe		TEXT PRIMARY KEY,
	acked_by	TEXT NOT NULL,
	reason		TEXT NOT NULL,
	created_ms	INTEGER NOT NULL,
	until_ms	INTEGER NOT NULL
) WITHOUT ROWID;
