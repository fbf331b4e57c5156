-- Probes and their results.  Results are keyed (probe_id, t_ms) without a
-- rowid: the key is the only index, which keeps a row near 30 bytes.
CREATE TABLE probe (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE,
	type		TEXT NOT NULL,
	created_ms	INTEGER NOT NULL
);

-- status: 0 ok, 1 degraded, 2 fail.  Phase timings are NULL when the
-- probe type has no such phase; cert_days NULL when no certificate.
CREATE TABLE result (
	probe_id	INTEGER NOT NULL,
	t_ms		INTEGER NOT NULL,
	status		INTEGER NOT NULL,
	latency_us	INTEGER NOT NULL,
	dns_us		INTEGER,
	connect_us	INTEGER,
	tls_us		INTEGER,
	ttfb_us		INTEGER,
	code		INTEGER,
	cert_days	INTEGER,
	error		TEXT,
	PRIMARY KEY (probe_id, t_ms)
) WITHOUT ROWID;

-- Rollups per minute and per hour: t_ms is the start of the bucket.
CREATE TABLE rollup_1m (
	probe_id	INTEGER NOT NULL,
	t_ms		INTEGER NOT NULL,
	n		INTEGER NOT NULL,
	ok		INTEGER NOT NULL,
	degraded	INTEGER NOT NULL,
	min_us		INTEGER,
	avg_us		INTEGER,
	max_us		INTEGER,
	p95_us		INTEGER,
	PRIMARY KEY (probe_id, t_ms)
) WITHOUT ROWID;

CREATE TABLE rollup_1h (
	probe_id	INTEGER NOT NULL,
	t_ms		INTEGER NOT NULL,
	n		INTEGER NOT NULL,
	ok		INTEGER NOT NULL,
	degraded	INTEGER NOT NULL,
	min_us		INTEGER,
	avg_us		INTEGER,
	max_us		INTEGER,
	p95_us		INTEGER,
	PRIMARY KEY (probe_id, t_ms)
) WITHOUT ROWID;

-- Small key/value facts the store keeps for itself (rollup progress).
CREATE TABLE meta (
	key		TEXT PRIMARY KEY,
	value		TEXT NOT NULL
);
