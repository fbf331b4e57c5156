-- Alertmanager rows of the outbox (alert.c) name their probe: a probe's
-- newer change replaces its older row for that [alert], and a row whose
-- alert still fires stays after a 2xx, to be sent again at next_ms.
-- NULL for webhook rows, which go after their 2xx.
ALTER TABLE outbox ADD COLUMN probe TEXT;
CREATE INDEX outbox_probe ON outbox (alert, probe) WHERE probe IS NOT NULL;
