#!/usr/bin/env python3
"""A fake vantaged API for the console tests (tests/integration/test_console_*).

It speaks the JSON contract of /work/notes/api-contract.md from canned data,
and can misbehave on purpose: --mode badjson|huge|hugestream|slow|ctype|
types|http500|hang|oddrows.  It is loopback-only and prints "ready PORT" once
it listens.

--mode oddrows keeps the envelope right but breaks single rows: a probe
"odd-probe" whose last latency is a string, a route "odd-route" with an
unknown effective state and a repeat of the first route's name, and audit
rows with a 300-byte target and with U+202E, U+009B and ESC in the detail,
between good rows; the first route's reason carries the same controls.

Route changes follow contract9.md: single and batch drain/undrain, the
pool guard on the whole set, Idempotency-Key (stored 200 and 409 outcomes,
replays, 422 on a mismatch), X-Vantage-Deadline checked just before the
commit (412 deadline_passed), and GET /v1/requests/KEY?deadline= (200, 404
not_applied, 425).  --no-lookup answers the lookup 404 not_found, as an
agent without it would.  A test makes the next N changes hang:

  POST /fake/hang {"ms": 5000, "when": "before"|"after", "count": 1}

"before" sleeps before the commit (so the deadline check refuses a late
one), "after" commits and then sleeps before it answers (a lost answer).

  console_fake_agent.py --port N --name web-01 --probes api=up,db=down
      --routes web-eu:web,web-us:web --pool web:2 [--token T] [--skew MS]
      [--viewer] [--caller NAME] [--broken-chain] [--audit-rows N]
      [--no-lookup]
"""
import argparse
import hashlib
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


def now_ms():
    return int(time.time() * 1000)


class State:
    def __init__(self, a):
        self.a = a
        self.started = now_ms()
        self.probes = []
        for spec in filter(None, a.probes.split(",")):
            name, _, st = spec.partition("=")
            self.probes.append({"name": name, "state": st or "up"})
        self.pools = {}
        for spec in filter(None, a.pool.split(",")):
            name, _, m = spec.partition(":")
            self.pools[name] = int(m or "1")
        self.routes = {}
        for spec in filter(None, a.routes.split(",")):
            name, _, pool = spec.partition(":")
            self.routes[name] = {
                "name": name, "state": "active", "effective": "ready",
                "reason": "", "actor": "", "operator": "",
                "since_ms": self.started, "expires_ms": None,
                "pool": pool or None, "probe": None, "forced": False}
        self.audit = []
        self.prev = "0" * 64
        self.outcomes = {}      # key -> (request, status, body)
        self.hang = []          # [when, ms] per coming change
        self.batches = 0

    def add_audit(self, actor, operator, action, target, detail, result,
                  key="", batch=""):
        row = {"id": len(self.audit) + 1, "t_ms": now_ms(), "actor": actor,
               "role": "operator", "operator": operator,
               "source": "127.0.0.1", "action": action, "target": target,
               "detail": detail, "result": result, "key": key,
               "batch": batch}
        h = hashlib.sha256((self.prev + json.dumps(row, sort_keys=True))
                           .encode()).hexdigest()
        row["hash"] = h
        self.prev = h
        self.audit.append(row)
        return row["id"]

    def probe_json(self, p):
        t = now_ms()
        st = p["state"]
        return {
            "name": p["name"], "type": "http",
            "target": "http://127.0.0.1/" + p["name"], "state": st,
            "state_since_ms": self.started, "interval_ms": 5000,
            "last": {"t_ms": t - 1000,
                     "status": {"up": "ok", "degraded": "degraded"}.get(
                         st, "fail"),
                     "latency_us": 1234, "dns_us": 10, "connect_us": 100,
                     "tls_us": None, "ttfb_us": 900, "code": 200,
                     "cert_days": 42,
                     "error": "" if st == "up" else "connection refused"},
            "stats_1h": {"runs": 720, "ok": 700, "degraded": 10, "fail": 10,
                         "avg_us": 1500, "p95_us": 4000}}

    def odd_probes(self, probes):
        # one row whose own field breaks the contract, among good ones
        odd = self.probe_json({"name": "odd-probe", "state": "up"})
        odd["last"]["latency_us"] = "fast"
        return probes[:1] + [odd] + probes[1:]

    def odd_routes(self, routes):
        first = dict(routes[0]) if routes else {"name": "r0"}
        return routes[:1] + [{"name": "odd-route", "state": "active",
                              "effective": "sideways"}] + routes[1:] + \
            [dict(first, reason="a second of the same name")]

    def pools_json(self):
        out = []
        for name, m in sorted(self.pools.items()):
            rs = [r for r in self.routes.values() if r["pool"] == name]
            out.append({"name": name, "min_active": m, "routes": len(rs),
                        "active": sum(r["state"] == "active" for r in rs)})
        return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-vantaged/0.1"

    def log_message(self, fmt, *args):
        extra = ""
        if self.command == "POST":
            extra = " key=%s deadline=%s t=%d" % (
                self.headers.get("Idempotency-Key"),
                self.headers.get("X-Vantage-Deadline"), now_ms())
        sys.stderr.write("%s %s%s\n" % (self.command, self.path, extra))

    def send(self, code, obj, ctype="application/json"):
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Vantage-Time", str(now_ms() + ARGS.skew))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass    # the console gave up on us (a test's hang)

    def error(self, code, c, msg):
        self.send(code, {"error": {"code": c, "message": msg}})

    def misbehave(self):
        m = ARGS.mode
        if m == "badjson":
            self.send(200, b'{"agent": {"name": "x"}, "probes": [tru')
        elif m == "huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            n = 10 * 1024 * 1024
            self.send_header("Content-Length", str(n))
            self.end_headers()
            chunk = b" " * 65536
            try:
                for _ in range(n // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass
        elif m == "hugestream":
            # no Content-Length: only the console's own cap stops it
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            chunk = b"[" * 65536
            try:
                for _ in range(10 * 1024 * 1024 // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass
        elif m == "slow":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(100000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass
        elif m == "ctype":
            self.send(200, b"<html>hello</html>", "text/html")
        elif m == "types":
            self.send(200, {"agent": {"name": 5}, "probes": "many"})
        elif m == "http500":
            self.error(500, "internal", "database is locked")
        elif m == "hang":
            time.sleep(3600)
        else:
            return False
        return True

    def auth(self):
        if not ARGS.token:
            return True
        if self.headers.get("Authorization") == "Bearer " + ARGS.token:
            return True
        self.error(401, "unauthorized", "missing or unknown token")
        return False

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        parts = [urllib.parse.unquote(p) for p in u.path.split("/")[1:]]
        if u.path == "/v1/health":
            return self.send(200, {"status": "ok", "agent": ARGS.name,
                                   "version": "0.1.0", "uptime_s": 1})
        if self.misbehave() or not self.auth():
            return
        with LOCK:
            probes = [S.probe_json(p) for p in S.probes]
            routes = list(S.routes.values())
            if ARGS.mode == "oddrows":
                probes = S.odd_probes(probes)
                routes = S.odd_routes(routes)
            if u.path == "/v1/status":
                t = now_ms()
                return self.send(200, {
                    "agent": {"name": ARGS.name, "version": "0.1.0",
                              "uptime_s": (t - S.started) // 1000,
                              "time_ms": t + ARGS.skew,
                              "started_ms": S.started,
                              "caller": {"name": ARGS.caller,
                                         "role": "viewer" if ARGS.viewer
                                         else "operator"}},
                    "probes": probes, "routes": routes,
                    "pools": S.pools_json()})
            if u.path == "/v1/routes":
                return self.send(200, {"routes": routes,
                                       "pools": S.pools_json()})
            if u.path == "/v1/audit":
                limit = int(q.get("limit", "500"))
                if "before" in q:
                    if "after" in q or int(q["before"]) < 1:
                        return self.error(400, "bad_request", "bad cursor")
                    sel = [r for r in reversed(S.audit)
                           if r["id"] < int(q["before"])]
                else:
                    after = int(q.get("after", "0"))
                    sel = [r for r in S.audit if r["id"] > after]
                rows = sel[:limit]
                return self.send(200, {"audit": rows,
                                       "more": len(sel) > limit,
                                       "next": rows[-1]["id"] if rows
                                       else None})
            if len(parts) == 3 and parts[:2] == ["v1", "requests"] and \
                    not ARGS.no_lookup:
                got = S.outcomes.get(parts[2])
                if got is not None:
                    return self.send(200, {"key": parts[2],
                                           "status": got[1],
                                           "outcome": got[2]})
                dl = q.get("deadline")
                if dl is not None and not dl.isdigit():
                    return self.error(400, "bad_request", "bad deadline")
                if dl is not None and now_ms() > int(dl):
                    return self.error(404, "not_applied",
                                      "no request with this key was "
                                      "applied, and its deadline has passed")
                self.send_response(425)
                body = json.dumps({"error": {
                    "code": "deadline_pending",
                    "message": "the deadline is still ahead",
                    "now_ms": now_ms()}}).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Retry-After", "1")
                self.end_headers()
                self.wfile.write(body)
                return
            if u.path == "/v1/audit/verify":
                if ARGS.broken_chain:
                    return self.send(200, {"ok": False, "rows": len(S.audit),
                                           "bad_id": 1,
                                           "message": "row 1: hash mismatch"})
                return self.send(200, {"ok": True, "rows": len(S.audit),
                                       "head": S.prev})
            if len(parts) == 4 and parts[:2] == ["v1", "probes"]:
                if not any(p["name"] == parts[2] for p in S.probes):
                    return self.error(404, "not_found", "no such probe")
                if parts[3] == "results":
                    since = int(q.get("since", "0"))
                    t = now_ms()
                    res = []
                    for i in range(30, 0, -1):
                        ts = t - i * 5000
                        if ts <= since:
                            continue
                        bad = i % 7 == 0
                        res.append({"t_ms": ts,
                                    "status": "fail" if bad else "ok",
                                    "latency_us": 1000 + 97 * i,
                                    "dns_us": 5, "connect_us": 50,
                                    "tls_us": None, "ttfb_us": 800,
                                    "code": 500 if bad else 200,
                                    "cert_days": 42,
                                    "error": "HTTP 500" if bad else ""})
                    return self.send(200, {"probe": parts[2], "results": res,
                                           "next": res[-1]["t_ms"] if res
                                           else None, "more": False})
                if parts[3] == "series":
                    frm = int(q.get("from", "0"))
                    to = int(q.get("to", str(now_ms())))
                    step = int(q.get("step", "60"))
                    pts = []
                    t = frm - frm % (step * 1000)
                    i = 0
                    while t < to and len(pts) < 2000:
                        i += 1
                        pts.append({"t_ms": t, "n": 12, "ok": 11,
                                    "degraded": 1, "min_us": 900,
                                    "avg_us": 1000 + (i * 377) % 4000,
                                    "max_us": 9000, "p95_us": 6000})
                        t += step * 1000
                    return self.send(200, {"probe": parts[2], "step_s": step,
                                           "points": pts})
        self.error(404, "not_found", "no such endpoint")

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in u.path.split("/")[1:]]
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        if u.path == "/fake/hang":
            b = json.loads(raw)
            with LOCK:
                S.hang += [[b.get("when", "before"), b["ms"]]] * \
                    b.get("count", 1)
            return self.send(200, {"ok": True})
        if self.misbehave() or not self.auth():
            return
        try:
            body = json.loads(raw)
        except ValueError:
            return self.error(400, "bad_request", "body is not JSON")
        if not isinstance(body, dict):
            return self.error(400, "bad_request", "body is not an object")
        if ARGS.viewer:
            return self.error(403, "forbidden",
                              "role viewer may not change routes")
        key = self.headers.get("Idempotency-Key")
        if key is not None and not (
                1 <= len(key) <= 64 and
                all(0x21 <= ord(ch) <= 0x7e for ch in key)):
            return self.error(400, "bad_request", "bad Idempotency-Key")
        dl = self.headers.get("X-Vantage-Deadline")
        if dl is not None and not dl.isdigit():
            return self.error(400, "bad_request", "bad X-Vantage-Deadline")
        if len(parts) == 3 and parts[:2] == ["v1", "routes"] and \
                parts[2] in ("drain", "undrain"):
            what, names, single = parts[2], body.get("routes"), False
            if not isinstance(names, list) or not names or \
                    len(names) > 256 or len(set(names)) != len(names) or \
                    not all(isinstance(x, str) for x in names):
                return self.error(400, "bad_request",
                                  "routes: 1 to 256 distinct names")
        elif len(parts) == 4 and parts[:2] == ["v1", "routes"] and \
                parts[3] in ("drain", "undrain"):
            what, names, single = parts[3], [parts[2]], True
        else:
            return self.error(404, "not_found", "no such endpoint")
        with LOCK:
            hang = S.hang.pop(0) if S.hang else None
        if hang and hang[0] == "before":
            time.sleep(hang[1] / 1000)
        op = self.headers.get("X-Vantage-Operator", "")
        with LOCK:
            req = (self.command, u.path, raw)
            if key is not None and key in S.outcomes:
                got = S.outcomes[key]
                if got[0] != req:
                    return self.error(422, "idempotency_mismatch",
                                      "this key was used for another "
                                      "request")
                out = dict(got[2])
                if got[1] == 200:
                    out["replayed"] = True
                return self.send(got[1], out)
            code, out = self.change(what, names, single, body, op, key or "",
                                    dl)
            if key is not None and code in (200, 409):
                S.outcomes[key] = (req, code, out)
        if hang and hang[0] == "after":
            time.sleep(hang[1] / 1000)
        return self.send(code, out)

    def change(self, what, names, single, body, op, key, dl):
        """One transaction under LOCK: (status, body)."""
        for x in names:
            if x not in S.routes:
                return 404, {"error": {"code": "not_found",
                                       "message": "route '%s' is not "
                                       "defined" % x}}
        update = body.get("update", False) is True
        reason = body.get("reason")
        if reason is not None and (not isinstance(reason, str) or
                                   not reason):
            return 400, {"error": {"code": "bad_request",
                                   "message": "bad reason"}}
        if reason is None and not (update and what == "drain"):
            return 400, {"error": {"code": "bad_request",
                                   "message": "reason is required"}}
        mode = body.get("mode", "drain")
        state = "draining" if mode == "drain" else "maint"
        force = body.get("force", False) is True
        ttl = body.get("ttl_s")
        rs = [S.routes[x] for x in names]
        # what each route becomes, or why not
        plan = []
        for r in rs:
            if what == "undrain":
                plan.append(r["state"] != "active")
                continue
            if r["state"] == "active":
                plan.append(True)
            elif r["state"] == state:
                same = (reason is None or reason == r["reason"]) and (
                    ttl is None or (ttl == 0 and r["expires_ms"] is None))
                if not same and not update:
                    return 409, {"error": {
                        "code": "needs_update",
                        "message": "route %s is already %s (reason \"%s\"); "
                        "add \"update\":true to change it" % (
                            r["name"], r["state"], r["reason"])}}
                plan.append(not same)
            else:
                plan.append(True)
        forced = False
        if what == "drain":
            for pool in sorted({r["pool"] for r in rs if r["pool"]}):
                mem = [x for x in S.routes.values() if x["pool"] == pool]
                now = sum(x["state"] == "active" for x in mem)
                sel = [x for x in rs if x["pool"] == pool]
                after = now - sum(x["state"] == "active" for x in sel)
                weak = after < now
                m = S.pools.get(pool, 0)
                if weak and after < m:
                    if not force:
                        for x in rs:
                            S.add_audit("tester", op, what, x["name"],
                                        reason or "", "refused", key)
                        return 409, {"error": {
                            "code": "pool_guard",
                            "message": "pool %s would keep %d of %d "
                            "routes taking traffic (now %d, min_active "
                            "%d) (use force)" % (pool, after, len(mem),
                                                 now, m)}}
                    forced = True
        if dl is not None and now_ms() > int(dl):
            for x in rs:
                S.add_audit("tester", op, what, x["name"], reason or "",
                            "refused", key)
            return 412, {"error": {"code": "deadline_passed",
                                   "message": "the request's deadline has "
                                   "passed; nothing was changed",
                                   "now_ms": now_ms()}}
        S.batches += 1
        batch = "b%d" % S.batches
        ids, out = [], []
        t = now_ms()
        for r, ch in zip(rs, plan):
            if ch and what == "undrain":
                r.update(state="active", effective="ready", reason=reason,
                         actor="tester", operator=op, since_ms=t,
                         expires_ms=None, forced=False)
            elif ch and r["state"] == state:
                if reason is not None:
                    r["reason"] = reason
                if ttl is not None:
                    r["expires_ms"] = t + ttl * 1000 if ttl else None
            elif ch:
                was = r["state"]
                r.update(state=state,
                         effective="drain" if mode == "drain" else "maint",
                         reason=reason if reason is not None
                         else r["reason"], actor="tester", operator=op,
                         since_ms=t, forced=forced and was == "active")
                if ttl is not None:
                    r["expires_ms"] = t + ttl * 1000 if ttl else None
                elif was == "active":
                    r["expires_ms"] = None
            if ch:
                r.update(key=key or None, batch=batch)
            ids.append(S.add_audit("tester", op, what, r["name"],
                                   reason or r["reason"],
                                   ("forced" if forced else "ok") if ch
                                   else "unchanged", key, batch))
            out.append(dict(r, changed=ch))
        if single:
            return 200, {"route": out[0], "audit_id": ids[0],
                         "changed": plan[0], "replayed": False,
                         "batch": batch}
        return 200, {"batch": batch, "changed": any(plan), "replayed": False,
                     "audit_ids": ids, "routes": out}


def main():
    global ARGS, S
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--name", default="fake")
    p.add_argument("--probes", default="api=up")
    p.add_argument("--routes", default="")
    p.add_argument("--pool", default="")
    p.add_argument("--token", default="")
    p.add_argument("--skew", type=int, default=0)
    p.add_argument("--mode", default="ok")
    p.add_argument("--viewer", action="store_true")
    p.add_argument("--caller", default="tester")
    p.add_argument("--audit-rows", type=int, default=0)
    p.add_argument("--broken-chain", action="store_true")
    p.add_argument("--no-lookup", action="store_true")
    ARGS = p.parse_args()
    S = State(ARGS)
    for i in range(ARGS.audit_rows):
        S.add_audit("tester", "tester@fake", "drain", "r%d" % (i + 1),
                    "row %d" % (i + 1), "ok")
    if ARGS.mode == "oddrows":
        evil = "evil \u202e\u009b\x1b[31m end"
        S.add_audit("tester", "tester@fake", "drain", "before-odd",
                    "a good row before", "ok")
        S.add_audit("tester", "tester@fake", "drain", "w" * 300,
                    "refused: name too long", "refused")
        S.add_audit("tester", "tester@fake", "drain", "evil-target",
                    evil, "ok")
        S.add_audit("tester", "tester@fake", "undrain", "later-1",
                    "a good row after", "ok")
        S.add_audit("tester", "tester@fake", "drain", "later-2",
                    "the newest row", "ok")
        for r in list(S.routes.values())[:1]:
            r["reason"] = evil
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    print("ready %d" % ARGS.port, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
