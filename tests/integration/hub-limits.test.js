'use strict';
// The hub's limits against peers that misbehave: pings and dead peers, readers that stop,
// replays nobody reads, and 100,000 distinct streamer names. Timeouts are set short here
// (SEV_WS_PING_INTERVAL=1, SEV_WS_PING_TIMEOUT=1, SEV_WS_SEND_TIMEOUT=2).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const h = require('../lib/harness');

const ASAN = /asan/.test(process.env.SEV_BIN || '');
let sev;
before(async () => {
  sev = await h.startSev({
    env: {
      SEV_WS_PING_INTERVAL: '1', SEV_WS_PING_TIMEOUT: '1', SEV_WS_SEND_TIMEOUT: '2',
      SEV_WS_REPLAY_KIB: '64', SEV_HUB_IDLE_CHANNELS: '200', SEV_LOG_LEVEL: 'warn',
    },
  });
});
after(async () => { await sev.stop(); });

async function metric(name) {
  const m = await (await fetch(sev.url + '/metrics')).text();
  const line = m.split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.split(' ')[1]) : 0;
}

function rssKiB() {
  const s = fs.readFileSync(`/proc/${sev.proc.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(s)[1]);
}

// Upgrades on a raw socket; `read` false leaves the socket paused after the 101.
function rawWs(streamer, { since, read = true } = {}) {
  const sock = net.connect(sev.port, '127.0.0.1');
  const st = { sock, frames: [], ended: false, buf: Buffer.alloc(0), upgraded: false };
  sock.on('error', () => {});
  sock.on('close', () => { st.ended = true; });
  st.opened = new Promise((resolve, reject) => {
    sock.on('connect', () => sock.write(`GET /ws?streamer=${streamer}${since ? '&since=' + since : ''} HTTP/1.1\r\nHost: x\r\n` +
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
    sock.on('data', (d) => {
      st.buf = Buffer.concat([st.buf, d]);
      if (!st.upgraded) {
        const end = st.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!st.buf.subarray(0, 12).toString().startsWith('HTTP/1.1 101')) return reject(new Error(st.buf.toString()));
        st.upgraded = true;
        st.buf = st.buf.subarray(end + 4);
        if (!read) sock.pause();
        resolve();
      }
      for (;;) { // server frames: unmasked, short ones are enough here
        const b = st.buf;
        if (b.length < 2) break;
        let len = b[1] & 0x7f, pos = 2;
        if (len === 126) { if (b.length < 4) break; len = b.readUInt16BE(2); pos = 4; }
        else if (len === 127) { if (b.length < 10) break; len = Number(b.readBigUInt64BE(2)); pos = 10; }
        if (b.length < pos + len) break;
        st.frames.push({ op: b[0] & 0x0f, payload: b.subarray(pos, pos + len) });
        st.buf = b.subarray(pos + len);
      }
    });
  });
  return st;
}

async function follow(streamer, viewer, extra) {
  const id = crypto.randomUUID();
  const r = await h.postWebhook(sev, { body: h.followBody(streamer, viewer, extra), id });
  assert.equal(r.status, 204);
  return id;
}

test('the server pings; a peer that never answers is closed, one that does stays', async () => {
  const good = await h.openWs(sev, 'pings'); // the ws package answers pings itself
  let pings = 0;
  good.ws.on('ping', () => { pings++; });
  const dead = rawWs('pings'); // reads, but never sends a pong
  await dead.opened;
  await h.waitFor('the silent peer to be closed', () => dead.ended, 8000);
  assert.ok(dead.frames.some((f) => f.op === 9), 'it was pinged first');
  const close = dead.frames.find((f) => f.op === 8);
  assert.ok(close, 'a close frame came before the end');
  assert.equal(close.payload.readUInt16BE(0), 1001);
  await h.waitFor('the answering client to have been pinged twice', () => pings >= 2, 5000);
  assert.equal(good.ws.readyState, 1, 'the client that answers pings is still open');
  good.close();
});

test('a client that stops reading is closed after the send timeout, the others get everything', async () => {
  const healthy = await h.openWs(sev, 'stall');
  const stuck = rawWs('stall', { read: false });
  await stuck.opened;
  // alive (it keeps sending unsolicited pongs, so it is no dead peer) but never reads
  const pong = Buffer.from([0x8a, 0x80, 1, 2, 3, 4]);
  const beat = setInterval(() => stuck.sock.write(pong), 200);
  const before = await metric('sev_websocket_clients_culled_total');
  const note = 's'.repeat(48 * 1024);
  let n = 0;
  // keep events coming until the stuck reader has a write nobody takes for 2 s
  await h.waitFor('the stuck client to be culled', async () => {
    const wave = [];
    for (let i = 0; i < 10; i++) wave.push(follow('stall', `st${n + i}`, { note }));
    n += (await Promise.all(wave)).length;
    return (await metric('sev_websocket_clients_culled_total')) > before;
  }, 20000, 200);
  await healthy.waitForCount(n, 20000);
  assert.equal(new Set(healthy.events().map((e) => e.id)).size, n);
  clearInterval(beat);
  stuck.sock.destroy();
  healthy.close();
});

test('replays nobody reads are closed and their memory returns', async () => {
  const first = await follow('bigpast', 'p0');
  const note = 'p'.repeat(32 * 1024);
  for (let w = 0; w < 4; w++) {
    const wave = [];
    for (let i = 0; i < 50; i++) wave.push(follow('bigpast', `p${w}-${i}`, { note }));
    await Promise.all(wave);
  }
  const clientsBefore = await metric('sev_websocket_clients');
  const rssBefore = rssKiB();
  const readers = [];
  for (let i = 0; i < 200; i++) readers.push(rawWs('bigpast', { since: first, read: false }));
  await Promise.all(readers.map((r) => r.opened));
  await h.waitFor('the stalled replays to be closed', async () =>
    (await metric('sev_websocket_clients')) <= clientsBefore, 20000, 200);
  const grown = rssKiB() - rssBefore;
  if (!ASAN) assert.ok(grown < 64 * 1024, `RSS grew ${grown} KiB for 200 stalled replays`);
  for (const r of readers) r.sock.destroy();
});

// keep-alive requests on a few sockets, each answered before the next is sent
async function manyRequests(paths, conns = 16) {
  let next = 0;
  const statuses = {};
  await Promise.all(Array.from({ length: conns }, () => new Promise((resolve, reject) => {
    const sock = net.connect(sev.port, '127.0.0.1');
    let buf = '';
    const send = () => {
      if (next >= paths.length) { sock.end(); return resolve(); }
      sock.write(`GET ${paths[next++]} HTTP/1.1\r\nHost: x\r\n\r\n`);
    };
    sock.on('connect', send);
    sock.on('error', reject);
    sock.setEncoding('latin1');
    sock.on('data', (d) => {
      buf += d;
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const len = Number((/content-length:\s*(\d+)/i.exec(buf.slice(0, end)) || [0, 0])[1]);
        if (buf.length < end + 4 + len) return;
        const status = buf.slice(9, 12);
        statuses[status] = (statuses[status] || 0) + 1;
        buf = buf.slice(end + 4 + len);
        send();
      }
    });
  })));
  return statuses;
}

test('100,000 distinct streamer names do not grow memory without bound', async () => {
  const n = ASAN ? 20000 : 100000;
  const tag = crypto.randomBytes(3).toString('hex');
  const rssBefore = rssKiB();
  const clientsBefore = await metric('sev_websocket_clients');
  // requests that are not upgrades (answered 426) must create nothing
  const statuses = await manyRequests(Array.from({ length: n }, (_, i) => `/ws?streamer=x${tag}${i}`));
  assert.equal(statuses['426'], n);
  // real viewers of distinct streamers that leave: their channels go idle, then are evicted
  for (let i = 0; i < 1000; i += 50) {
    const batch = [];
    for (let k = i; k < i + 50; k++) batch.push(h.openWs(sev, `v${tag}${k}`));
    for (const c of await Promise.all(batch)) c.close();
  }
  await h.waitFor('the viewers to be gone', async () => (await metric('sev_websocket_clients')) <= clientsBefore, 10000);
  const channels = await metric('sev_streamers_in_memory');
  assert.ok(channels <= 200 + 10, `channels in memory: ${channels} (idle cap 200)`);
  const grown = rssKiB() - rssBefore;
  // before the fix: +100 MB for 100,000 names; generous bound, not a speed
  if (!ASAN) assert.ok(grown < 30 * 1024, `RSS grew ${grown} KiB`);
  const r = await fetch(sev.url + '/healthz');
  assert.equal(r.status, 200);
});
