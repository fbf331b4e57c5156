"""slowloris.py - slow clients against an API port, and real requests
beside them (used by test_api_slowloris.sh and bench_slowloris.sh).

  slowloris.py PORT SECS CONNS ADDRS DRIP TOKEN

CONNS connections spread over ADDRS source addresses (127.0.0.2, .3, ...)
each send a request line and then one header line every DRIP seconds,
never the blank line; a connection the agent closes is opened again at
the next drip.  Meanwhile one client on 127.0.0.1 sends a real request
every 50 ms on a new connection, alternately GET /v1/status (TOKEN) and
GET /v1/routes/web/health, each with a 2 s timeout.  Prints one line:
  sent N answered N p50_ms X p99_ms X max_ms X slow_open N slow_closed N
"""
import resource, selectors, socket, sys, threading, time

port, secs, conns, addrs, drip = (int(sys.argv[1]), float(sys.argv[2]),
    int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
token = sys.argv[6]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
stop = time.time() + secs
stats = {"open_max": 0, "closed": 0}

def slow():
    sel = selectors.DefaultSelector()
    socks = [None] * conns
    def connect(i):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.bind(("127.0.0.%d" % (2 + i % addrs), 0))
            s.connect_ex(("127.0.0.1", port))
        except OSError:
            s.close()
            return
        socks[i] = s
        sel.register(s, selectors.EVENT_READ, i)
    def drop(i):
        sel.unregister(socks[i])
        socks[i].close()
        socks[i] = None
        stats["closed"] += 1
    for i in range(conns):
        connect(i)
    first = set(range(conns))
    nxt = time.time() + 0.2
    while time.time() < stop:
        for key, _ in sel.select(timeout=max(0, min(nxt, stop) - time.time())):
            try:
                d = key.fileobj.recv(4096)
            except OSError:
                d = b""
            if not d and socks[key.data] is not None:
                drop(key.data)
        if time.time() < nxt:
            continue
        nxt = time.time() + drip
        n = 0
        for i in range(conns):
            if socks[i] is None:
                connect(i)
                first.add(i)
                continue
            line = b"X-Slow: %d\r\n" % i
            if i in first:
                line = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"
                first.discard(i)
            try:
                socks[i].send(line)
                n += 1
            except OSError:
                drop(i)
        stats["open_max"] = max(stats["open_max"], n)
    for s in socks:
        if s is not None:
            s.close()

if conns > 0:
    t = threading.Thread(target=slow, daemon=True)
    t.start()
    time.sleep(min(1.0, secs / 4))
lat, sent, k = [], 0, 0
reqs = [b"GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + token.encode() + b"\r\nConnection: close\r\n\r\n",
        b"GET /v1/routes/web/health HTTP/1.1\r\nHost: x\r\n"
        b"Connection: close\r\n\r\n"]
while time.time() < stop:
    t0 = time.time()
    sent += 1
    k += 1
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(reqs[k % 2])
        d = s.recv(64)
        s.close()
        if d.startswith(b"HTTP/1.1 200") or d.startswith(b"HTTP/1.1 503"):
            lat.append((time.time() - t0) * 1000)
    except OSError:
        pass
    time.sleep(max(0, 0.05 - (time.time() - t0)))
if conns > 0:
    t.join()
lat.sort()
q = lambda f: lat[min(len(lat) - 1, int(len(lat) * f))] if lat else -1
print("sent %d answered %d p50_ms %.1f p99_ms %.1f max_ms %.1f "
      "slow_open %d slow_closed %d" % (sent, len(lat), q(0.5), q(0.99),
      lat[-1] if lat else -1, stats["open_max"], stats["closed"]))
