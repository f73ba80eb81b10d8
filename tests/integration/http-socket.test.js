'use strict';
// The HTTP server at the socket level, as nginx's and h2o's suites test theirs: raw TCP
// clients that close before reading, pipeline requests split at every byte, send a request a
// byte at a time (slowloris), stop reading a large answer, or open more connections than the
// limits allow. Deadlines are set short through their variables so the tests stay quick.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const crypto = require('node:crypto');
const h = require('../lib/harness');

// Parses the whole HTTP/1.1 responses at the start of buf (each with Content-Length or none).
function parseResponses(buf) {
  const out = [];
  let off = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', off);
    if (end < 0) break;
    const [statusLine, ...lines] = buf.subarray(off, end).toString('latin1').split('\r\n');
    const headers = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    const len = Number(headers['content-length'] || 0);
    if (buf.length < end + 4 + len) break;
    out.push({ status: Number(statusLine.split(' ')[1]), headers, body: buf.subarray(end + 4, end + 4 + len).toString() });
    off = end + 4 + len;
  }
  return out;
}

// A raw client connection that keeps what it reads.
class Conn {
  constructor(port, opts = {}) {
    this.chunks = [];
    this.received = 0;
    this.closed = false;
    this.sock = net.connect({ host: '127.0.0.1', port, ...opts });
    this.sock.setNoDelay(true);
    if (!opts.paused) {
      this.sock.on('data', (d) => { this.chunks.push(d); this.received += d.length; });
    } else {
      this.sock.pause();
    }
    this.sock.on('error', (e) => { this.error = e; });
    this.sock.on('close', () => { this.closed = true; });
    this.ready = new Promise((resolve, reject) => {
      this.sock.once('connect', resolve);
      this.sock.once('error', reject);
    });
  }
  write(data) {
    return new Promise((resolve) => this.sock.write(data, () => resolve()));
  }
  responses() {
    return parseResponses(Buffer.concat(this.chunks));
  }
  async waitResponses(n, ms = 10000) {
    return h.waitFor(`${n} response(s)`, () => {
      const r = this.responses();
      return r.length >= n ? r : null;
    }, ms, 2);
  }
  async waitClosed(ms = 10000) {
    await h.waitFor('the server to close the connection', () => this.closed, ms, 10);
  }
  destroy() {
    this.sock.destroy();
  }
}

const GET = (p, extra = '') => `GET ${p} HTTP/1.1\r\nHost: sev.test\r\n${extra}\r\n`;

async function stillServing(sev) {
  assert.equal(sev.proc.child.exitCode, null, `sev exited: ${sev.proc.child.exitCode} ${sev.proc.child.signalCode}`);
  assert.equal(sev.proc.child.signalCode, null, `sev was killed by ${sev.proc.child.signalCode}`);
  const c = new Conn(sev.port);
  await c.ready;
  await c.write(GET('/healthz', 'Connection: close\r\n'));
  const [r] = await c.waitResponses(1);
  assert.equal(r.status, 200);
  c.destroy();
}

// Opens a connection and checks it is served (a keep-alive answer to /healthz).
async function served(port, opts) {
  const c = new Conn(port, opts);
  await c.ready;
  await c.write(GET('/healthz'));
  const [r] = await c.waitResponses(1);
  return { c, r };
}

test('clients that close or reset before reading their answers do not kill sev (SIGPIPE)', async () => {
  const sev = await h.startSev();
  try {
    const two = GET('/healthz') + GET('/healthz');
    for (let i = 0; i < 30; i++) {
      assert.equal(sev.proc.child.signalCode, null, `sev was killed by ${sev.proc.child.signalCode}`);
      // as the Python line: both requests, then close at once
      const a = new Conn(sev.port);
      await a.ready;
      await a.write(two);
      a.destroy();
      // the first answer arrives, then the socket is reset while the second is written
      const b = new Conn(sev.port);
      await b.ready;
      await b.write(two + two + two);
      await h.waitFor('the first answer', () => b.received > 0, 5000, 1);
      b.sock.resetAndDestroy();
    }
    await stillServing(sev);
  } finally {
    await h.stopAll(sev);
  }
});

test('two pipelined requests split at every byte are both answered', async () => {
  const sev = await h.startSev();
  try {
    const first = GET('/healthz');
    const second = GET('/favicon.svg');
    const all = Buffer.from(first + second);
    for (let k = 1; k < all.length; k++) {
      const c = new Conn(sev.port);
      await c.ready;
      await c.write(all.subarray(0, k));
      // Past the first request: its answer proves sev read the first part on its own, so
      // the rest of the second request arrives in a later read.
      if (k >= first.length) await c.waitResponses(1);
      else await new Promise((r) => setTimeout(r, 2));
      await c.write(all.subarray(k));
      const rs = await c.waitResponses(2, 5000).catch((e) => {
        throw new Error(`split at byte ${k}: ${e.message} (got ${c.responses().length})`);
      });
      assert.equal(rs[0].status, 200, `split at ${k}: first answer`);
      assert.deepEqual(JSON.parse(rs[0].body).status, 'ok');
      assert.equal(rs[1].status, 200, `split at ${k}: second answer`);
      assert.match(rs[1].headers['content-type'], /image\/svg\+xml/);
      assert.match(rs[1].body, /<svg/);
      c.destroy();
    }
    await stillServing(sev);
  } finally {
    await h.stopAll(sev);
  }
});

test('answers written whole at once, in part (a large file), and later (from the store) keep a pipelined connection going', async () => {
  const web = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'sev-web-'));
  fs.cpSync(path.join(h.ROOT, 'web'), web, { recursive: true });
  const size = 3 * 1000 * 1000; // more than a loopback socket takes at once
  const big = crypto.randomBytes(size);
  fs.writeFileSync(path.join(web, 'big.png'), big);
  const sev = await h.startSev({ env: { SEV_WEB_DIR: web } });
  try {
    for (let i = 0; i < 3; i++) {
      const body = h.followBody('pipeline', `viewer${i}`);
      assert.equal((await h.postWebhook(sev, { body })).status, 204);
    }
    const newest = (await (await fetch(`${sev.url}/api/streamers/pipeline/events`)).json()).events[0].id;
    const c = new Conn(sev.port);
    await c.ready;
    // one write: an answer from the store (the handler answers later), one written at once,
    // a large one the socket takes in part, then one more written at once
    await c.write(GET(`/api/streamers/pipeline/events?limit=5&before=${encodeURIComponent(newest)}`) +
      GET('/healthz') + GET('/big.png') + GET('/healthz'));
    const rs = await c.waitResponses(4, 15000);
    assert.deepEqual(rs.map((r) => r.status), [200, 200, 200, 200]);
    assert.equal(JSON.parse(rs[0].body).events.length, 2, 'the two events before the newest');
    assert.equal(JSON.parse(rs[1].body).status, 'ok');
    const all = Buffer.concat(c.chunks);
    const at = all.indexOf(big.subarray(0, 64));
    assert.ok(at > 0 && all.subarray(at, at + size).equals(big), 'the large file whole');
    assert.equal(JSON.parse(rs[3].body).status, 'ok');
    // and the same connection goes on afterwards: a later answer with nothing pipelined
    // behind it, then one more request
    await c.write(GET(`/api/streamers/pipeline/events?limit=1&before=${encodeURIComponent(newest)}`));
    assert.equal((await c.waitResponses(5)).at(-1).status, 200);
    await c.write(GET('/healthz'));
    assert.equal((await c.waitResponses(6)).at(-1).status, 200);
    c.destroy();
    await stillServing(sev);
  } finally {
    await h.stopAll(sev);
    fs.rmSync(web, { recursive: true, force: true });
  }
});

// Sends one byte every `everyMs` until the server closes; returns the bytes sent.
async function trickle(c, bytes, everyMs) {
  let sent = 0;
  while (!c.closed && sent < bytes.length) {
    c.sock.write(bytes.subarray(sent, sent + 1));
    sent++;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return sent;
}

test('slowloris: a head sent a byte at a time is cut at the header deadline', async () => {
  const sev = await h.startSev({ env: { SEV_HEADER_TIMEOUT: '1' } });
  try {
    const c = new Conn(sev.port);
    await c.ready;
    const start = Date.now();
    // 200 ms a byte: an inactivity timer of 1 s would never fire; this head lasts 60 s
    const head = Buffer.from('GET /healthz HTTP/1.1\r\nHost: sev.test\r\nX-Slow: ' + 'a'.repeat(300) + '\r\n\r\n');
    const trickling = trickle(c, head, 200);
    await c.waitClosed(10000);
    const sent = await trickling;
    assert.ok(sent < head.length, 'cut before the head was complete');
    assert.equal(c.responses().length, 0, 'nothing answered');
    assert.ok(Date.now() - start >= 900, 'not before the deadline');
    await stillServing(sev);
  } finally {
    await h.stopAll(sev);
  }
});

test('a body sent a byte at a time is cut at the body deadline', async () => {
  const sev = await h.startSev({ env: { SEV_BODY_TIMEOUT: '1' } });
  try {
    const c = new Conn(sev.port);
    await c.ready;
    await c.write('POST /eventsub/webhook HTTP/1.1\r\nHost: sev.test\r\nContent-Type: application/json\r\n' +
      'Content-Length: 300\r\n\r\n');
    const trickling = trickle(c, Buffer.from('x'.repeat(300)), 200);
    await c.waitClosed(10000);
    assert.ok((await trickling) < 300, 'cut before the body was complete');
    assert.equal(c.responses().length, 0, 'nothing answered');
    await stillServing(sev);
  } finally {
    await h.stopAll(sev);
  }
});

test('a client that stops reading a large answer is cut at the send deadline', async () => {
  // a web directory with one 8 MB file (more than the socket buffers hold on loopback)
  const web = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'sev-web-'));
  fs.cpSync(path.join(h.ROOT, 'web'), web, { recursive: true });
  const size = 8 * 1000 * 1000;
  fs.writeFileSync(path.join(web, 'big.png'), crypto.randomBytes(size));
  const sev = await h.startSev({ env: { SEV_WEB_DIR: web, SEV_SEND_TIMEOUT: '1', SEV_LOG_LEVEL: 'debug' } });
  try {
    const c = new Conn(sev.port, { paused: true });
    await c.ready;
    await c.write(GET('/big.png') + GET('/big.png'));
    await h.waitFor('sev to give up sending', () => /msg=http\.timeout waited_for=send/.test(sev.proc.output), 15000, 20);
    // now read: what sev wrote before it closed, then the end (or a reset), never both files
    let got = 0;
    c.sock.on('data', (d) => { got += d.length; });
    c.sock.resume();
    await c.waitClosed(15000);
    assert.ok(got < 2 * size, `got ${got} bytes: the connection was cut`);
    await stillServing(sev);
  } finally {
    await h.stopAll(sev);
    fs.rmSync(web, { recursive: true, force: true });
  }
});

function assertBusy(r) {
  assert.equal(r.status, 503);
  assert.equal(r.headers.connection, 'close');
  assert.match(r.headers['retry-after'], /^\d+$/);
  assert.match(r.headers['content-type'], /application\/json/);
  assert.equal(typeof JSON.parse(r.body).error, 'string');
}

test('per-address limit: 503 past it, other addresses served, room again once one closes', async () => {
  const sev = await h.startSev({ env: { SEV_MAX_CONNECTIONS_PER_ADDRESS: '3' } });
  const open = [];
  try {
    // 127.0.0.2 is loopback too: it keeps these clear of the harness's own connections
    const from = { localAddress: '127.0.0.2' };
    for (let i = 0; i < 3; i++) {
      const { c, r } = await served(sev.port, from);
      assert.equal(r.status, 200, `connection ${i + 1} of 3`);
      open.push(c);
    }
    const over = new Conn(sev.port, from);
    await over.ready;
    await over.write(GET('/healthz'));
    const [busy] = await over.waitResponses(1);
    assertBusy(busy);
    assert.match(JSON.parse(busy.body).error, /address/);
    await over.waitClosed();
    // another address is not limited by this one's connections
    const other = await served(sev.port, { localAddress: '127.0.0.3' });
    assert.equal(other.r.status, 200);
    other.c.destroy();
    // one closes: a new connection from the address is served again
    open.shift().destroy();
    await h.waitFor('a connection from 127.0.0.2 to be served again', async () => {
      const { c, r } = await served(sev.port, from);
      if (r.status === 200) { open.push(c); return true; }
      c.destroy();
      return false;
    }, 10000, 20);
    await stillServing(sev);
  } finally {
    for (const c of open) c.destroy();
    await h.stopAll(sev);
  }
});

test('global limit: 503 past it (not a dropped socket), served again once connections close', async () => {
  const sev = await h.startSev({ env: { SEV_MAX_CONNECTIONS: '4' } });
  const open = [];
  try {
    let busy = null;
    for (let i = 0; i < 6 && !busy; i++) {
      const { c, r } = await served(sev.port);
      if (r.status === 503) busy = { c, r };
      else open.push(c);
    }
    assert.ok(busy, 'a 503 once 4 connections are open');
    assert.ok(open.length >= 1 && open.length <= 4, `${open.length} served before the limit`);
    assertBusy(busy.r);
    assert.match(JSON.parse(busy.r.body).error, /connection limit/);
    await busy.c.waitClosed();
    // the served connections still work while others are refused
    await open[0].write(GET('/healthz'));
    await open[0].waitResponses(2);
    for (const c of open.splice(0)) c.destroy();
    await h.waitFor('a new connection to be served', async () => {
      const { c, r } = await served(sev.port);
      c.destroy();
      return r.status === 200;
    }, 10000, 20);
  } finally {
    for (const c of open) c.destroy();
    await h.stopAll(sev);
  }
});

test('a flood under a small open-file limit: the cap fits the limit, accept goes on, sev serves again', async () => {
  // sev under a 60-descriptor limit with a connection limit it cannot honour: it lowers the
  // limit itself and says so; a flood of 300 connections then meets 503s and drops, never
  // a dead or stuck listener
  const port = await h.freePort();
  const sev = await h.startSev({
    port,
    env: { SEV_MAX_CONNECTIONS: '1000' },
    wrap: (bin, args) => ['/bin/sh', ['-c', 'ulimit -n 60 && exec "$0" "$@"', bin, ...args]],
  });
  const flood = [];
  try {
    assert.match(sev.proc.output, /config\.max_connections_lowered/);
    for (let i = 0; i < 300; i++) {
      const c = new Conn(port);
      c.ready.catch(() => {});
      flood.push(c);
    }
    await Promise.allSettled(flood.map((c) => c.ready));
    for (const c of flood) if (!c.closed) c.sock.write(GET('/healthz'));
    await h.waitFor('every flooding connection answered or closed', () =>
      flood.every((c) => c.closed || c.responses().length > 0), 20000, 50);
    for (const c of flood) c.destroy();
    await h.waitFor('sev to serve again', async () => {
      const { c, r } = await served(port);
      c.destroy();
      return r.status === 200;
    }, 20000, 50);
    await stillServing(sev);
  } finally {
    for (const c of flood) c.destroy();
    await h.stopAll(sev);
  }
});

// ---- the edges around the socket: secrets on the command line, HSTS ----

test('a secret given as a flag stops sev with one line (exit 2), never echoing it', () => {
  const { spawnSync } = require('node:child_process');
  const env = { ...process.env, SEV_LISTEN: '127.0.0.1:0', SEV_DATABASE: 'sqlite:/nonexistent/never-opened.db' };
  for (const args of [
    ['--twitch-client-secret', 'hunter2-client'],
    ['--twitch-eventsub-secret=hunter2-eventsub'],
    ['--database', 'postgres://sev:hunter2-db@127.0.0.1/sev'],
  ]) {
    const r = spawnSync(h.SEV_BIN, args, { encoding: 'utf8', env });
    assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^sev: --[a-z-]+: .*(ps)/);
    assert.doesNotMatch(r.stderr, /hunter2/);
  }
  const help = spawnSync(h.SEV_BIN, ['--help'], { encoding: 'utf8' });
  assert.match(help.stdout, /--twitch-client-secret-file/);
  assert.doesNotMatch(help.stdout, /--twitch-client-secret\s/);
});

test('a secret from a file works; HSTS only when SEV_PUBLIC_URL is https', async () => {
  const os = require('node:os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sev-secret-'));
  const file = path.join(dir, 'eventsub-secret');
  fs.writeFileSync(file, 'from-a-file-0123456789\n', { mode: 0o600 });
  const port = await h.freePort();
  const https = await h.startSev({
    port,
    env: { SEV_PUBLIC_URL: 'https://sev.example.com', TWITCH_EVENTSUB_SECRET: '', TWITCH_EVENTSUB_SECRET_FILE: file },
  });
  const plain = await h.startSev();
  try {
    const r = await fetch(`${https.url}/healthz`);
    assert.equal(r.headers.get('strict-transport-security'), 'max-age=31536000');
    // the webhook secret is the file's: a delivery signed with it is accepted
    const ok = await h.postWebhook(https, { body: h.followBody('filesecret', 'alice'), secret: 'from-a-file-0123456789' });
    assert.equal(ok.status, 204);
    const bad = await h.postWebhook(https, { body: h.followBody('filesecret', 'bob'), secret: 'test-secret-0123456789' });
    assert.equal(bad.status, 403);
    assert.equal((await fetch(`${plain.url}/healthz`)).headers.get('strict-transport-security'), null);
  } finally {
    await h.stopAll(https, plain);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
