#!/usr/bin/env python3
"""A fake vantaged API for the console tests (tests/integration/test_console_*).

It speaks the JSON contract of /work/notes/api-contract.md from canned data,
and can misbehave on purpose: --mode badjson|huge|hugestream|slow|ctype|
types|http500|hang.  It is loopback-only and prints "ready PORT" once it listens.

  console_fake_agent.py --port N --name web-01 --probes api=up,db=down
      --routes web-eu:web,web-us:web --pool web:2 [--token T] [--skew MS]
      [--viewer] [--caller NAME] [--broken-chain] [--audit-rows N]
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

    def add_audit(self, actor, operator, action, target, detail, result):
        row = {"id": len(self.audit) + 1, "t_ms": now_ms(), "actor": actor,
               "role": "operator", "operator": operator,
               "source": "127.0.0.1", "action": action, "target": target,
               "detail": detail, "result": result}
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
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def send(self, code, obj, ctype="application/json"):
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Vantage-Time", str(now_ms() + ARGS.skew))
        self.end_headers()
        self.wfile.write(body)

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
                    "probes": [S.probe_json(p) for p in S.probes],
                    "routes": list(S.routes.values()),
                    "pools": S.pools_json()})
            if u.path == "/v1/routes":
                return self.send(200, {"routes": list(S.routes.values()),
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
        if self.misbehave() or not self.auth():
            return
        try:
            body = json.loads(raw)
        except ValueError:
            return self.error(400, "bad_request", "body is not JSON")
        if ARGS.viewer:
            return self.error(403, "forbidden",
                              "role viewer may not change routes")
        op = self.headers.get("X-Vantage-Operator", "")
        with LOCK:
            if len(parts) != 4 or parts[:2] != ["v1", "routes"]:
                return self.error(404, "not_found", "no such endpoint")
            r = S.routes.get(parts[2])
            if r is None:
                return self.error(404, "not_found",
                                  "route '%s' is not defined" % parts[2])
            reason = body.get("reason")
            if not isinstance(reason, str) or not reason:
                return self.error(400, "bad_request", "reason is required")
            if parts[3] == "drain":
                mode = body.get("mode", "drain")
                force = body.get("force", False)
                pool = r["pool"]
                if pool and r["state"] == "active" and not force:
                    rs = [x for x in S.routes.values() if x["pool"] == pool]
                    act = sum(x["state"] == "active" for x in rs)
                    if act - 1 < S.pools.get(pool, 0):
                        S.add_audit("tester", op, "drain", r["name"], reason,
                                    "refused")
                        return self.error(
                            409, "pool_guard",
                            "pool %s would keep %d active route, min_active "
                            "is %d (use force)" % (pool, act - 1,
                                                   S.pools[pool]))
                r.update(state="draining" if mode == "drain" else "maint",
                         effective="drain" if mode == "drain" else "maint",
                         reason=reason, actor="tester", operator=op,
                         since_ms=now_ms(), forced=bool(force),
                         expires_ms=now_ms() + body["ttl_s"] * 1000
                         if body.get("ttl_s") else None)
                aid = S.add_audit("tester", op, "drain", r["name"], reason,
                                  "forced" if force else "ok")
            elif parts[3] == "undrain":
                r.update(state="active", effective="ready", reason=reason,
                         actor="tester", operator=op, since_ms=now_ms(),
                         expires_ms=None, forced=False)
                aid = S.add_audit("tester", op, "undrain", r["name"], reason,
                                  "ok")
            else:
                return self.error(404, "not_found", "no such endpoint")
            return self.send(200, {"route": r, "audit_id": aid})


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
    ARGS = p.parse_args()
    S = State(ARGS)
    for i in range(ARGS.audit_rows):
        S.add_audit("tester", "tester@fake", "drain", "r%d" % (i + 1),
                    "row %d" % (i + 1), "ok")
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    print("ready %d" % ARGS.port, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
