'use strict';
// WebSocket conformance of GET /ws over the real I/O path: the server-relevant cases of the
// Autobahn TestSuite (framing, reserved bits, opcodes, fragmentation, control frames, close
// codes and reasons, UTF-8, limits), written as data: a table of case → expected outcome.
// Frames are built and masked by hand and written on a raw TCP socket, some in the same
// packet as the handshake, some one byte at a time; peers that reset mid-close must not hurt
// the server. SEV's hub accepts only control frames from clients: a data message (once it is
// valid) is answered with close 1008.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const h = require('../lib/harness');

let sev;
before(async () => { sev = await h.startSev(); });
after(async () => { await sev.stop(); });

const OP = { cont: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };

// A client frame: masked unless mask === false; len overrides the announced length form.
function frame(op, payload = Buffer.alloc(0), { fin = true, rsv = 0, mask = true, len64 = false, len16 = false } = {}) {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | op];
  const m = mask ? 0x80 : 0;
  if (len64 || p.length > 0xffff) {
    head.push(m | 127);
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(p.length));
    head.push(...b);
  } else if (len16 || p.length > 125) {
    head.push(m | 126, p.length >> 8, p.length & 0xff);
  } else {
    head.push(m | p.length);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), p]);
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const body = Buffer.from(p);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(head), key, body]);
}
const closeFrame = (code, reason = '', opts) => {
  const r = Buffer.isBuffer(reason) ? reason : Buffer.from(reason);
  const p = Buffer.alloc(2 + r.length);
  p.writeUInt16BE(code);
  r.copy(p, 2);
  return frame(OP.close, p, opts);
};
const BAD_UTF8 = Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64]);
const GOOD_UTF8 = Buffer.from('κόσμε-€-𝄞', 'utf8');

// A raw WebSocket client: sends the handshake (plus `early` bytes in the same write), parses
// the server's frames, records when the TCP connection ends.
class Raw {
  constructor(port, streamer, early = Buffer.alloc(0)) {
    this.frames = [];
    this.buf = Buffer.alloc(0);
    this.upgraded = false;
    this.ended = false;
    this.sock = net.connect(port, '127.0.0.1');
    this.sock.on('error', () => {});
    this.sock.on('close', () => { this.ended = true; });
    this.opened = new Promise((resolve, reject) => {
      this.sock.on('connect', () => {
        const hs = `GET /ws?streamer=${streamer} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n` +
          'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
        this.sock.write(Buffer.concat([Buffer.from(hs), early]));
      });
      this.sock.on('data', (d) => {
        this.buf = Buffer.concat([this.buf, d]);
        if (!this.upgraded) {
          const end = this.buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = this.buf.subarray(0, end).toString();
          if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(head));
          this.upgraded = true;
          this.buf = this.buf.subarray(end + 4);
          resolve();
        }
        this.parse();
      });
      this.sock.on('close', () => { if (!this.upgraded) reject(new Error('closed before 101')); });
    });
  }
  parse() {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      let len = b[1] & 0x7f;
      let pos = 2;
      assert.equal(b[1] & 0x80, 0, 'server frames are not masked');
      if (len === 126) { if (b.length < 4) return; len = b.readUInt16BE(2); pos = 4; }
      else if (len === 127) { if (b.length < 10) return; len = Number(b.readBigUInt64BE(2)); pos = 10; }
      if (b.length < pos + len) return;
      const f = { fin: !!(b[0] & 0x80), op: b[0] & 0x0f, payload: b.subarray(pos, pos + len) };
      if (f.op === OP.close) {
        f.code = len >= 2 ? f.payload.readUInt16BE(0) : 1005;
        f.reason = f.payload.subarray(2).toString();
      }
      this.frames.push(f);
      this.buf = b.subarray(pos + len);
    }
  }
  send(bytes, { chop = false } = {}) {
    if (!chop) return this.sock.write(bytes);
    // one byte per write, each its own segment
    return (async () => {
      for (const byte of bytes) {
        this.sock.write(Buffer.from([byte]));
        await new Promise((r) => setImmediate(r));
      }
    })();
  }
  async waitFrame(op, what) {
    let f;
    await h.waitFor(what || `a frame with opcode ${op}`, () => (f = this.frames.find((x) => x.op === op && !x.seen)), 5000, 5);
    f.seen = true;
    return f;
  }
  async waitEnd() {
    await h.waitFor('the server to close the TCP connection', () => this.ended, 5000, 5);
  }
}

// Expected outcomes:
//   close: N     → a close frame with code N, then the TCP connection ends
//   pong: P      → a pong with payload P (then the connection is still usable)
//   open         → nothing happens: a ping afterwards is still answered
const cases = [
  // framing and control frames (Autobahn 1.x, 2.x)
  { id: '2.1 ping, empty', send: [frame(OP.ping)], pong: '' },
  { id: '2.2 ping, text payload', send: [frame(OP.ping, 'Hello, world!')], pong: 'Hello, world!' },
  { id: '2.3 ping, binary payload', send: [frame(OP.ping, Buffer.from([0, 255, 254, 253, 252, 251, 0, 255]))], pong: Buffer.from([0, 255, 254, 253, 252, 251, 0, 255]) },
  { id: '2.4 ping, 125-byte payload', send: [frame(OP.ping, Buffer.alloc(125, 0xfe))], pong: Buffer.alloc(125, 0xfe) },
  { id: '2.5 ping, 126-byte payload', send: [frame(OP.ping, Buffer.alloc(126, 0xfe))], close: 1002 },
  { id: '2.6 ping, 125 bytes chopped into 1-byte writes', send: [frame(OP.ping, Buffer.alloc(125, 0x41))], chop: true, pong: Buffer.alloc(125, 0x41) },
  { id: '2.7 unsolicited pong, empty', send: [frame(OP.pong)], open: true },
  { id: '2.8 unsolicited pong, payload', send: [frame(OP.pong, 'unsolicited')], open: true },
  { id: '2.9 unsolicited pong then ping', send: [frame(OP.pong, 'x'), frame(OP.ping, 'ping')], pong: 'ping' },
  { id: '2.10 ten pings, each answered', send: Array.from({ length: 10 }, (_, i) => frame(OP.ping, `p${i}`)), pongs: Array.from({ length: 10 }, (_, i) => `p${i}`) },
  { id: '1.x unmasked client frame', send: [frame(OP.ping, 'x', { mask: false })], close: 1002 },
  { id: '1.x length 5 sent in 16-bit form', send: [frame(OP.ping, 'hello', { len16: true })], close: 1002 },
  { id: '1.x length 200 sent in 64-bit form', send: [frame(OP.binary, Buffer.alloc(200), { len64: true })], close: 1002 },
  { id: '1.x 64-bit length with the top bit set', send: [Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4])], close: 1002 },
  // reserved bits (3.x)
  { id: '3.1 RSV1 on a ping', send: [frame(OP.ping, 'x', { rsv: 4 })], close: 1002 },
  { id: '3.2 RSV2 on a text frame', send: [frame(OP.text, 'x', { rsv: 2 })], close: 1002 },
  { id: '3.3 RSV3 after a good ping', send: [frame(OP.ping, 'ok'), frame(OP.ping, 'x', { rsv: 1 })], pong: 'ok', close: 1002 },
  { id: '3.7 all RSV bits on a close', send: [closeFrame(1000, '', { rsv: 7 })], close: 1002 },
  // opcodes (4.x)
  ...[3, 4, 5, 6, 7].map((op) => ({ id: `4.1 reserved data opcode ${op}`, send: [frame(op, 'x')], close: 1002 })),
  ...[11, 12, 13, 14, 15].map((op) => ({ id: `4.2 reserved control opcode ${op}`, send: [frame(op)], close: 1002 })),
  // fragmentation (5.x)
  { id: '5.1 fragmented ping', send: [frame(OP.ping, 'frag', { fin: false }), frame(OP.cont, 'ment')], close: 1002 },
  { id: '5.2 fragmented pong', send: [frame(OP.pong, 'frag', { fin: false }), frame(OP.cont, 'ment')], close: 1002 },
  { id: '5.3 fragmented text (a data message)', send: [frame(OP.text, 'frag', { fin: false }), frame(OP.cont, 'ment')], close: 1008 },
  { id: '5.6 ping between two fragments', send: [frame(OP.text, 'frag', { fin: false }), frame(OP.ping, 'mid'), frame(OP.cont, 'ment')], pong: 'mid', close: 1008 },
  { id: '5.9 continuation without a message', send: [frame(OP.cont, 'lost')], close: 1002 },
  { id: '5.10 continuation, not final, without a message', send: [frame(OP.cont, 'lost', { fin: false })], close: 1002 },
  { id: '5.18 a new message inside a fragmented one', send: [frame(OP.text, 'a', { fin: false }), frame(OP.text, 'b')], close: 1002 },
  { id: '5.19 fragments chopped into 1-byte writes', send: [frame(OP.text, 'ab', { fin: false }), frame(OP.ping, 'c'), frame(OP.cont, 'd')], chop: true, pong: 'c', close: 1008 },
  // data messages: clients send none (policy), after the checks RFC 6455 asks for
  { id: '1.1 text message', send: [frame(OP.text, 'hello')], close: 1008 },
  { id: '1.2 binary message', send: [frame(OP.binary, Buffer.from([1, 2, 3]))], close: 1008 },
  { id: '1.3 empty text message', send: [frame(OP.text, '')], close: 1008 },
  // UTF-8 (6.x)
  { id: '6.2 valid UTF-8 text', send: [frame(OP.text, GOOD_UTF8)], close: 1008 },
  { id: '6.3 invalid UTF-8 text (a surrogate)', send: [frame(OP.text, BAD_UTF8)], close: 1007 },
  { id: '6.4 invalid UTF-8 across fragments', send: [frame(OP.text, BAD_UTF8.subarray(0, 12), { fin: false }), frame(OP.cont, BAD_UTF8.subarray(12))], close: 1007 },
  { id: '6.x overlong encoding of /', send: [frame(OP.text, Buffer.from([0xc0, 0xaf]))], close: 1007 },
  { id: '6.x code point above U+10FFFF', send: [frame(OP.text, Buffer.from([0xf4, 0x90, 0x80, 0x80]))], close: 1007 },
  { id: '6.x truncated sequence at the end', send: [frame(OP.text, Buffer.from([0x41, 0xe2, 0x82]))], close: 1007 },
  // close handling (7.x)
  { id: '7.1 close, no payload → echoed 1000', send: [frame(OP.close)], close: 1000 },
  { id: '7.1 close 1000 then a ping (ignored)', send: [closeFrame(1000), frame(OP.ping, 'late')], close: 1000, noPong: true },
  { id: '7.3 close with a 1-byte payload', send: [frame(OP.close, Buffer.from([0x03]))], close: 1002 },
  { id: '7.3 close with a 123-byte reason', send: [closeFrame(1000, 'r'.repeat(123))], close: 1000 },
  { id: '7.3 close with a 124-byte reason (payload 126)', send: [closeFrame(1000, 'r'.repeat(124))], close: 1002 },
  { id: '7.5 close reason not UTF-8', send: [closeFrame(1000, BAD_UTF8)], close: 1007 },
  ...[1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].map((code) => (
    { id: `7.7 valid close code ${code}, echoed`, send: [closeFrame(code, 'bye')], close: code })),
  ...[0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535].map((code) => (
    { id: `7.9 invalid close code ${code}`, send: [closeFrame(code)], close: 1002 })),
  // limits (9.x, scaled to what a viewer may send)
  { id: '9.x ping of 125 bytes is the largest control frame', send: [frame(OP.ping, Buffer.alloc(125, 1))], pong: Buffer.alloc(125, 1) },
  { id: '9.x text message over the 4 KiB input cap', send: [frame(OP.text, Buffer.alloc(5000, 0x61))], close: 1009 },
  { id: '9.x announced 1 GiB binary frame', send: [Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4])], close: 1009 },
  { id: '9.x fragments adding up past the cap', send: [frame(OP.text, Buffer.alloc(3000, 0x61), { fin: false }), frame(OP.cont, Buffer.alloc(3000, 0x61))], close: 1009 },
];

async function runCase(c, early) {
  const bytes = Buffer.concat(c.send);
  const ws = new Raw(sev.port, 'conformance', early ? bytes : undefined);
  await ws.opened;
  if (!early) await ws.send(bytes, { chop: !!c.chop });
  for (const p of c.pongs || (c.pong !== undefined ? [c.pong] : [])) {
    const f = await ws.waitFrame(OP.pong, `pong ${JSON.stringify(String(p))}`);
    assert.deepEqual(f.payload, Buffer.from(p), `${c.id}: pong payload`);
  }
  if (c.close !== undefined) {
    const f = await ws.waitFrame(OP.close, `close ${c.close}`);
    assert.equal(f.code, c.close, `${c.id}: close code (reason: ${f.reason})`);
    await ws.waitEnd();
    if (c.noPong) assert.equal(ws.frames.filter((x) => x.op === OP.pong).length, 0, 'nothing after a close');
    return;
  }
  // still open: a ping is answered, and a normal close is echoed
  ws.send(frame(OP.ping, 'still-there'));
  const f = await ws.waitFrame(OP.pong, 'the connection to stay usable');
  assert.equal(f.payload.toString(), 'still-there');
  ws.send(closeFrame(1000));
  const cl = await ws.waitFrame(OP.close);
  assert.equal(cl.code, 1000);
  await ws.waitEnd();
}

test('Autobahn-style cases over a raw socket', async (t) => {
  for (const c of cases) await t.test(c.id, () => runCase(c, false));
});

test('the same cases sent in the same packet as the handshake', async (t) => {
  // before the fix these frames were parsed before the hub knew the client: a ping got no
  // pong and a close was ignored
  for (const c of cases.filter((x) => !x.chop)) await t.test(c.id, () => runCase(c, true));
});

async function alive() {
  const r = await fetch(`${sev.url}/healthz`);
  assert.equal(r.status, 200, 'sev still answers');
}

test('a peer that resets right after an invalid frame (the close frame cannot be written)', async () => {
  // SIGSEGV before the fix (a NULL connection closed twice)
  for (const bad of [frame(OP.text, 'hello'), frame(OP.ping, 'x', { rsv: 4 }), frame(OP.text, BAD_UTF8), closeFrame(1000)]) {
    for (let i = 0; i < 20; i++) {
      const ws = new Raw(sev.port, 'resetter');
      await ws.opened;
      ws.sock.write(bad);
      ws.sock.resetAndDestroy();
    }
    // and the same frames in the handshake's packet
    for (let i = 0; i < 20; i++) {
      const ws = new Raw(sev.port, 'resetter', bad);
      await ws.opened.catch(() => {});
      ws.sock.resetAndDestroy();
    }
  }
  await alive();
});

test('a peer that resets while its close is being answered, many at once', async () => {
  const all = [];
  for (let i = 0; i < 100; i++) {
    all.push((async () => {
      const ws = new Raw(sev.port, 'resetter2');
      await ws.opened;
      ws.sock.write(Buffer.concat([frame(OP.ping, 'a'), closeFrame(1001, 'going')]));
      await new Promise((r) => setImmediate(r));
      ws.sock.resetAndDestroy();
    })());
  }
  await Promise.all(all);
  await alive();
});
