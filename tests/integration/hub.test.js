'use strict';
// GET /ws: live fan-out, since= replay without gaps or duplicates, slow clients culled
// without slowing others, bad input.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const h = require('../lib/harness');

let sev;
before(async () => { sev = await h.startSev(); });
after(async () => { await sev.stop(); });

async function follow(streamer, viewer) {
  const id = crypto.randomUUID();
  const r = await h.postWebhook(sev, { body: h.followBody(streamer, viewer), id });
  assert.equal(r.status, 204);
  return id;
}

test('an event reaches every subscriber of its streamer and nobody else', async () => {
  const a1 = await h.openWs(sev, 'fanout');
  const a2 = await h.openWs(sev, 'fanout');
  const other = await h.openWs(sev, 'elsewhere');
  const id = await follow('fanout', 'carol');
  for (const c of [a1, a2]) {
    const [e] = await c.waitForCount(1);
    assert.equal(e.id, id);
  }
  const id2 = await follow('elsewhere', 'dave');
  const [e2] = await other.waitForCount(1);
  assert.equal(e2.id, id2, 'the other streamer saw only its own event');
  assert.equal(a1.messages.length, 1);
  for (const c of [a1, a2, other]) c.close();
});

async function metric(name) {
  const m = await (await fetch(sev.url + '/metrics')).text();
  const line = m.split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.split(' ')[1]) : 0;
}

test('since= replays what was missed, then goes live, with no gap and no duplicate', async () => {
  // Events published while the replay is still running must come after it, once each. The
  // replay is made long (about 10 MB) and its reader paused, and the test checks on the
  // server's counters that the live events were published before the replay had been sent.
  const first = await follow('replay', 'viewer-start');
  const note = 'r'.repeat(32 * 1024);
  const stored = [];
  for (let w = 0; w < 6; w++) {
    const wave = [];
    for (let i = 0; i < 50; i++) {
      const id = crypto.randomUUID();
      wave.push(h.postWebhook(sev, { body: h.followBody('replay', `viewer${w}-${i}`, { note }), id })
        .then((r) => { assert.equal(r.status, 204); return id; }));
    }
    stored.push(...(await Promise.all(wave)));
  }
  const replayedBefore = await metric('sev_replayed_events_total');
  const c = await h.openWs(sev, 'replay', first);
  c.ws._socket.pause(); // the replay stalls on a full socket
  const publishedBefore = await metric('sev_frames_published_total');
  const live = [];
  for (let i = 0; i < 5; i++) live.push(await follow('replay', `live${i}`));
  await h.waitFor('the live events to be published', async () =>
    (await metric('sev_frames_published_total')) >= publishedBefore + 5);
  const replayedSoFar = (await metric('sev_replayed_events_total')) - replayedBefore;
  assert.ok(replayedSoFar < stored.length, `the replay was still running (${replayedSoFar} of ${stored.length} sent)`);
  c.ws._socket.resume();
  const got = await c.waitForCount(stored.length + live.length, 30000);
  const ids = got.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, 'no duplicate');
  assert.deepEqual(new Set(ids.slice(0, stored.length)), new Set(stored), 'the replay, whole, first');
  assert.deepEqual(ids.slice(stored.length), live, 'then the live events, in order, no gap');
  c.close();
});

test('a replay larger than one store batch arrives whole and in order', async () => {
  const first = await follow('bigreplay', 'v0');
  const all = [];
  const bodies = [];
  for (let i = 1; i <= 1200; i++) bodies.push(i);
  // post concurrently in waves so group commit has something to group
  for (let i = 0; i < bodies.length; i += 100) {
    const wave = bodies.slice(i, i + 100).map(async (n) => {
      const id = crypto.randomUUID();
      const r = await h.postWebhook(sev, { body: h.followBody('bigreplay', `v${n}`), id });
      assert.equal(r.status, 204);
      return id;
    });
    all.push(...(await Promise.all(wave)));
  }
  const c = await h.openWs(sev, 'bigreplay', first);
  const got = await c.waitForCount(1200, 15000);
  assert.equal(new Set(got.map((e) => e.id)).size, 1200, 'no duplicates');
  assert.deepEqual(new Set(got.map((e) => e.id)), new Set(all), 'nothing missing');
  c.close();
});

test('a client that never reads is closed; the others keep getting events', async () => {
  // a raw socket that completes the handshake and then never reads
  const port = sev.port;
  const stuck = net.connect(port, '127.0.0.1');
  await new Promise((r) => stuck.on('connect', r));
  stuck.write(`GET /ws?streamer=slowpoke HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await new Promise((r) => stuck.once('data', r));
  stuck.pause(); // stop reading: the kernel buffers fill, then sev's queue
  const healthy = await h.openWs(sev, 'slowpoke');
  const big = 'x'.repeat(60 * 1024);
  let n = 0;
  const closed = new Promise((r) => stuck.on('close', r));
  await h.waitFor('the stuck client to be culled', async () => {
    const bodies = [];
    // distinct followers: one user following twice in the same second is one follow
    for (let i = 0; i < 20; i++) bodies.push(h.postWebhook(sev, { body: h.followBody('slowpoke', `spam${n + i}`, { note: big }) }));
    n += (await Promise.all(bodies)).length;
    const m = await (await fetch(sev.url + '/metrics')).text();
    return /sev_websocket_clients_culled_total [1-9]/.test(m);
  }, 30000, 0);
  await healthy.waitForCount(n, 15000);
  assert.equal(healthy.events().length, n, 'the healthy client got every event');
  stuck.destroy();
  await closed;
  healthy.close();
});

test('bad WebSocket requests get clear errors', async () => {
  // fetch() refuses Upgrade/Connection headers, so these go out through node:http.
  for (const q of ['', '?streamer=', '?streamer=Bad%20Name', '?streamer=a&since=']) {
    const r = await h.rawUpgrade(sev, `/ws${q}`);
    assert.equal(r.status, 400, q);
    assert.equal(typeof JSON.parse(r.body).error, 'string', q);
  }
  const plain = await fetch(`${sev.url}/ws?streamer=abc`);
  assert.equal(plain.status, 426);
});

test('a client that sends data frames is closed with 1008', async () => {
  const c = await h.openWs(sev, 'chatty');
  c.ws.send('hello');
  const { code } = await c.closed;
  assert.equal(code, 1008);
});

test('a ping from the client is answered with a pong', async () => {
  const c = await h.openWs(sev, 'pinger');
  const pong = new Promise((r) => c.ws.on('pong', (d) => r(d.toString())));
  c.ws.ping('are-you-there');
  assert.equal(await pong, 'are-you-there');
  c.close();
});
