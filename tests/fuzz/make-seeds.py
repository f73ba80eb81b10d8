#!/usr/bin/env python3
"""Writes the hand-made seed corpora into corpus/<target>/ (run from tests/fuzz; idempotent).
Crash reproducers found later are added by hand as corpus/<target>/regression-*."""
import glob, json, os, struct

def out(target, name, data):
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

MASK = b"\x37\xfa\x21\x3d"

def frame(op, payload, masked, fin=True):
    b0 = (0x80 if fin else 0) | op
    n = len(payload)
    m = 0x80 if masked else 0
    if n < 126:
        h = bytes([b0, m | n])
    elif n <= 0xFFFF:
        h = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        h = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if masked:
        payload = bytes(c ^ MASK[i % 4] for i, c in enumerate(payload))
        h += MASK
    return h + payload

# ws parser: [flags][n][n chunk lengths][stream]; flags bit0 = client role, bits 1-2 cap
for role, masked in ((0, True), (1, False)):
    r = "server" if role == 0 else "client"
    f = lambda *a, **k: frame(*a, masked=masked, **k)
    out("fuzz_ws_parser", f"{r}-text", bytes([role | 2, 0]) + f(1, b"Hello"))
    out("fuzz_ws_parser", f"{r}-chunked-1", bytes([role | 2, 1, 0]) + f(1, "h\u00e9llo \u20ac".encode()))
    out("fuzz_ws_parser", f"{r}-fragments", bytes([role | 4, 3, 2, 7, 1]) +
        f(1, b"Hel", fin=False) + f(9, b"ping") + f(0, b"lo", fin=False) + f(0xA, b"") + f(0, b"!"))
    out("fuzz_ws_parser", f"{r}-binary-126", bytes([role | 4, 1, 200]) + f(2, bytes(range(126))))
    out("fuzz_ws_parser", f"{r}-binary-65536", bytes([role | 4, 2, 255, 17]) + f(2, b"x" * 65536))
    out("fuzz_ws_parser", f"{r}-close", bytes([role, 0]) + f(8, b"\x03\xe8bye"))
    out("fuzz_ws_parser", f"{r}-close-empty", bytes([role, 0]) + f(8, b""))
    # 40 pings in one read pass the 125-byte cap on input together: fed in 16-byte chunks and
    # at once they must give the same (one read used to fail as "frame too big")
    out("fuzz_ws_parser", f"{r}-many-pings", bytes([role, 1, 15]) + f(9, b"0123456789") * 40)
    out("fuzz_ws_parser", f"{r}-bad-utf8-split", bytes([role | 2, 1, 3]) +
        f(1, b"\xe2\x82", fin=False) + f(0, b"x"))
    out("fuzz_ws_parser", f"{r}-rsv", bytes([role | 2, 0]) + bytes([0xC1]) + f(1, b"x")[1:])

# event: [type byte][body]. The byte picks a table row (byte % (rows + 1)) whose type replaces
# the body's; 255 is just a start, the fuzzer mutates it.
samples = sorted(p for p in glob.glob("../data/eventsub/*.json") if not p.endswith(".expected.json"))
for i, p in enumerate(samples):
    with open(p, "rb") as fh:
        body = json.dumps(json.load(fh), separators=(",", ":"), ensure_ascii=False).encode()
    out("fuzz_event", os.path.basename(p)[:-5], bytes([255]) + body)

# webhook: secret \n id \n timestamp \n header \n body
body = b'{"subscription":{"id":"ae2ff348","type":"channel.follow","version":"2","condition":{"broadcaster_user_id":"1337"}},"event":{"user_id":"1001","broadcaster_user_id":"1337","broadcaster_user_login":"cozystreamer"}}'
out("fuzz_webhook", "follow", b"s3cre7-for-tests\nmsg-1\n2026-11-22T10:00:00.123456789Z\nsha256=00\n" + body)
out("fuzz_webhook", "offset-time", b"x\nid\n2026-11-22T11:00:00+01:00\n\n{}")
out("fuzz_webhook", "twitch-vector", b"secretabcd\nae2ff348-e102-16be-a3eb-6830c1bf38d2\n2021-02-19T23:47:00.8091512Z\nsha256=d10f5bd9474b7ac7bd7105eb79c2d52768b4d0cd2a135982c3bf5a1d59a78823\n{}")

# http: [chunk-1][bytes of a connection]
out("fuzz_http", "get-events", b"\xff" + b"GET /api/streamers/cozystreamer/events?limit=10&before=abc HTTP/1.1\r\nHost: x\r\n\r\n")
out("fuzz_http", "ws-upgrade", b"\x07" + b"GET /ws?streamer=cozy%5Fstreamer&since=42 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
out("fuzz_http", "webhook-post", b"\xff" + b"POST /eventsub/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTwitch-Eventsub-Message-Id: m1\r\nContent-Length: 2\r\n\r\n{}")
out("fuzz_http", "pipelined-cookie", b"\x00" + b"GET /healthz HTTP/1.1\r\nCookie: a=1; sev_session=abc\r\n\r\nGET /streamer/bob%20x/overlay?x HTTP/1.1\r\nX-Empty:\r\nX-B: v\r\n\r\n")
out("fuzz_http", "chunked-body", b"\x03" + b"PUT /api/me/favorite HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n")
