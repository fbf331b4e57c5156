#!/usr/bin/env python3
"""console_fake_agent.py with what the view tests need on top.

  --degraded NAME,...   these probes ran degraded all hour (stats ok 0)
  --unknown NAME,...    these probes could not check: state and last
                        status "unknown"
  --latency-us N        every latency (default 420: sub-millisecond)
  --route-probes R=P,.. route R follows probe P
  --fail-after S        /results: one result every 5 s over the last 90 s
                        (the probe is new), failing (latency 7 us: a
                        fast refusal) from S s ago on; never rolled up

Everything else is console_fake_agent.py's (same options).
"""
import sys
import os
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import console_fake_agent as base  # noqa: E402

EXTRA = {"--degraded": "", "--unknown": "", "--latency-us": "420",
         "--route-probes": "", "--fail-after": "-1"}


def take_extra(argv):
    rest, i = [], 0
    while i < len(argv):
        if argv[i] in EXTRA and i + 1 < len(argv):
            EXTRA[argv[i]] = argv[i + 1]
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    return rest


sys.argv = [sys.argv[0]] + take_extra(sys.argv[1:])
DEG = set(filter(None, EXTRA["--degraded"].split(",")))
UNK = set(filter(None, EXTRA["--unknown"].split(",")))
LAT = int(EXTRA["--latency-us"])
FAIL_AFTER = int(EXTRA["--fail-after"])
ROUTE_PROBES = dict(x.split("=", 1) for x in
                    filter(None, EXTRA["--route-probes"].split(",")))

_probe_json = base.State.probe_json


def probe_json(self, p):
    j = _probe_json(self, p)
    j["last"]["latency_us"] = LAT
    j["stats_1h"]["avg_us"] = LAT
    if p["name"] in DEG:
        j["state"] = "degraded"
        j["last"]["status"] = "degraded"
        j["stats_1h"].update(ok=0, degraded=720, fail=0)
    if p["name"] in UNK:
        j["state"] = "unknown"
        j["last"]["status"] = "unknown"
        j["last"]["error"] = "resolver unreachable: check not run"
    return j


base.State.probe_json = probe_json

_init = base.State.__init__


def init(self, a):
    _init(self, a)
    for r, p in ROUTE_PROBES.items():
        if r in self.routes:
            self.routes[r]["probe"] = p


base.State.__init__ = init

_do_get = base.Handler.do_GET


def do_get(self):
    parts = self.path.split("?")[0].split("/")
    if FAIL_AFTER >= 0 and len(parts) == 5 and parts[1:3] == ["v1",
                                                                "probes"] \
            and parts[4] == "results" and self.auth():
        q = dict(x.split("=", 1) for x in
                 filter(None, (self.path.split("?") + [""])[1].split("&")))
        since = int(q.get("since", "0"))
        t = base.now_ms()
        res = []
        for ago in range(90, 0, -5):
            ts = t - ago * 1000
            if ts <= since:
                continue
            bad = ago <= FAIL_AFTER
            res.append({"t_ms": ts, "status": "fail" if bad else "ok",
                        "latency_us": 7 if bad else LAT, "dns_us": None,
                        "connect_us": None, "tls_us": None,
                        "ttfb_us": None, "code": None, "cert_days": None,
                        "error": "connection refused" if bad else ""})
        return self.send(200, {"probe": parts[3], "results": res,
                               "next": res[-1]["t_ms"] if res else None,
                               "more": False})
    return _do_get(self)


base.Handler.do_GET = do_get

if __name__ == "__main__":
    base.main()
