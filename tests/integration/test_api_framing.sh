#!/bin/bash
# HTTP framing two parsers could read differently is refused with a 400
# JSON error and the connection closed: Content-Length with
# Transfer-Encoding, two Content-Lengths, a coding other than chunked, no
# Host in HTTP/1.1, data after the JSON body.  Sound requests keep the
# connection.  Raw sockets, so nothing is fixed up on the way.
. "$(dirname "$0")/lib.sh"

port=$(free_port)
agent_conf "$T/a.conf" "$T/data" "$port"
TOKEN=$(new_token olga operator)
cat >>"$T/a.conf" <<EOC
tokens = $T/tokens
[route "web"]
EOC
start_agent agent "$T/a.conf"

# raw NAME REQUEST: sends REQUEST (python bytes literal, \r\n as written),
# prints "STATUS CLOSED BODY" where CLOSED is 1 when the agent closed the
# connection after its answer (within 3 s).
cat >"$T/raw.py" <<'EOP'
import socket, sys, time, ast
port, req = int(sys.argv[1]), ast.literal_eval(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=3)
s.sendall(req)
data, closed = b"", 0
end = time.time() + 3
while time.time() < end:
    try:
        d = s.recv(65536)
    except socket.timeout:
        break
    if not d:
        closed = 1
        break
    data += d
    head, sep, rest = data.partition(b"\r\n\r\n")
    if sep:
        n = 0
        for l in head.split(b"\r\n")[1:]:
            k, _, v = l.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v)
        if len(rest) >= n:
            # answered: does the agent close now?
            s.settimeout(1)
            try:
                closed = 1 if s.recv(1) == b"" else 0
            except socket.timeout:
                closed = 0
            break
status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "none"
body = data.partition(b"\r\n\r\n")[2].decode(errors="replace")
print(status, closed, body)
EOP
raw() { python3 "$T/raw.py" "$port" "$1"; }
A="Authorization: Bearer $TOKEN"
B='{"reason":"framing test"}'
POST="b'POST /v1/routes/web/drain HTTP/1.1\r\nHost: x\r\n$A\r\nContent-Type: application/json\r\n"

# refused: 400 bad_request, connection closed
bad() {	# WHAT REQUEST MESSAGE
	local got
	got=$(raw "$2")
	assert_match '^400 1 \{"error":\{"code":"bad_request","message":"[^"]*'"$3" \
	    "$got" "$1"
}
bad "Content-Length with Transfer-Encoding" \
    "${POST}Content-Length: ${#B}\r\nTransfer-Encoding: chunked\r\n\r\n$(printf '%x' ${#B})\r\n$B\r\n0\r\n\r\n'" \
    "both Content-Length and Transfer-Encoding"
bad "two different Content-Lengths" \
    "${POST}Content-Length: ${#B}\r\nContent-Length: 5\r\n\r\n$B'" \
    "more than one Content-Length"
bad "Transfer-Encoding: xchunked" \
    "${POST}Transfer-Encoding: xchunked\r\n\r\n$B'" \
    "Transfer-Encoding other than"
bad "Transfer-Encoding: gzip, chunked" \
    "${POST}Transfer-Encoding: gzip, chunked\r\n\r\n$(printf '%x' ${#B})\r\n$B\r\n0\r\n\r\n'" \
    "Transfer-Encoding other than"
bad "HTTP/1.1 without Host" \
    "b'GET /v1/health HTTP/1.1\r\n\r\n'" "no Host header"
bad "two Hosts" \
    "b'GET /v1/health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'" "more than one Host"
J="$B"'{"reason":"smuggled"}'
got=$(raw "${POST}Content-Length: ${#J}\r\n\r\n$J'")
assert_match '^400 1 \{"error":\{"code":"bad_request","message":"unexpected data after the JSON object"' \
    "$got" "junk after the JSON body"

# sound requests: answered, connection kept
got=$(raw "b'GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n'")
assert_match '^200 0 \{"status":"ok"' "$got" "plain GET"
got=$(raw "b'GET /v1/health HTTP/1.0\r\n\r\n'")
assert_match '^200 [01] \{"status":"ok"' "$got" "HTTP/1.0 without Host"
got=$(raw "${POST}Content-Length: ${#B}\r\n\r\n$B'")
assert_match '^200 0 ' "$got" "POST with one Content-Length"
got=$(raw "${POST}Transfer-Encoding: Chunked\r\n\r\n$(printf '%x' ${#B})\r\n$B\r\n0\r\n\r\n'")
assert_match '^200 0 ' "$got" "chunked POST"
stop_agent agent
