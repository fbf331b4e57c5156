-- Probe state changes (alert.c).  A row is committed in one transaction
-- with the change's outbox rows, before any POST: a stored event is an
-- alert owed, and a change lost to a crash took its alerts with it.
-- from_state is the probe's last stored to_state when it has one, so the
-- rows of a probe chain across restarts.  cause: the error text of the
-- result that tipped the change ('' when that result was OK);
-- result_t_ms: that result's time.  t_ms: when the state changed.
CREATE TABLE event (
	id		INTEGER PRIMARY KEY,
	probe		TEXT NOT NULL,
	t_ms		INTEGER NOT NULL,
	from_state	TEXT NOT NULL CHECK (from_state IN ('unknown', 'up',
			    'degraded', 'down')),
	to_state	TEXT NOT NULL CHECK (to_state IN ('up', 'degraded',
			    'down')),
	cause		TEXT NOT NULL DEFAULT '',
	result_t_ms	INTEGER
);
CREATE INDEX event_probe ON event (probe, t_ms);
CREATE INDEX event_t ON event (t_ms);
