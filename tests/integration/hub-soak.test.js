'use strict';
// A soak of the hub: for SOAK_SECS (default 10; `make soak` runs longer) viewers connect,
// close, reset, send bad frames and replay with since= while events are published to their
// streamers. Viewers that stay get their streamer's events once each and in order; sev must
// survive, and under ASan (integration-asan) any sanitizer report fails the test when sev
// stops.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const h = require('../lib/harness');

const SECS = Number(process.env.SOAK_SECS || 10);
const STREAMERS = ['soak_a', 'soak_b', 'soak_c', 'soak_d'];
let sev;
before(async () => {
  sev = await h.startSev({ env: { SEV_LOG_LEVEL: 'warn', SEV_WS_PING_INTERVAL: '1', SEV_WS_PING_TIMEOUT: '2' } });
});
after(async () => { await sev.stop(); }); // throws on a sanitizer report

function rnd(n) { return crypto.randomInt(n); }

// A raw viewer that reads a little, maybe sends a bad frame (with the handshake or after),
// then resets (RST) or closes.
async function misbehave(streamer) {
  const sock = net.connect(sev.port, '127.0.0.1');
  sock.on('error', () => {});
  const key = Buffer.from([9, 8, 7, 6]);
  const masked = (op, payload) => {
    const p = Buffer.from(payload);
    for (let i = 0; i < p.length; i++) p[i] ^= key[i & 3];
    return Buffer.concat([Buffer.from([0x80 | op, 0x80 | p.length]), key, p]);
  };
  const bad = [masked(1, 'hi'), masked(8, Buffer.from([3, 232])), masked(9, 'ping'),
    Buffer.from([0xc1, 0x80, 0, 0, 0, 0]), masked(2, 'bin'), Buffer.alloc(0)][rnd(6)];
  await new Promise((r) => sock.on('connect', r));
  const hs = `GET /ws?streamer=${streamer} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
  sock.write(rnd(2) ? Buffer.concat([Buffer.from(hs), bad]) : hs);
  if (rnd(2)) sock.write(bad);
  await new Promise((r) => setTimeout(r, rnd(50)));
  if (rnd(2)) sock.resetAndDestroy(); else sock.destroy();
}

test(`hub soak: ${SECS} s of churn while events are published`, { timeout: (SECS + 120) * 1000 }, async () => {
  const end = Date.now() + SECS * 1000;
  const published = Object.fromEntries(STREAMERS.map((s) => [s, []]));
  const steady = await Promise.all(STREAMERS.map((s) => h.openWs(sev, s)));
  let posts = 0, churned = 0;
  const publisher = (async () => {
    while (Date.now() < end) {
      const s = STREAMERS[rnd(STREAMERS.length)];
      const wave = [];
      for (let i = 0; i < 10; i++) {
        const id = crypto.randomUUID();
        wave.push(h.postWebhook(sev, { body: h.followBody(s, `u${posts + i}`), id }).then((r) => {
          assert.equal(r.status, 204);
          return id;
        }));
      }
      posts += 10;
      published[s].push(...(await Promise.all(wave)));
    }
  })();
  const churn = (async () => {
    const live = [];
    while (Date.now() < end) {
      const s = STREAMERS[rnd(STREAMERS.length)];
      const k = rnd(4);
      if (k === 0) {
        await misbehave(s);
      } else if (k === 1 && published[s].length) {
        const since = published[s][rnd(published[s].length)];
        live.push(await h.openWs(sev, s, since));
      } else {
        live.push(await h.openWs(sev, s));
      }
      churned++;
      while (live.length > 20) {
        const c = live.splice(rnd(live.length), 1)[0];
        if (rnd(2)) c.ws.terminate(); else c.close();
      }
    }
    for (const c of live) c.ws.terminate();
  })();
  await Promise.all([publisher, churn]);
  // the steady viewers got every event of their streamer once, in commit order
  for (const [i, s] of STREAMERS.entries()) {
    const c = steady[i];
    await c.waitForCount(published[s].length, 20000);
    const ids = c.events().map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, `${s}: no duplicate`);
    assert.deepEqual(new Set(ids), new Set(published[s]), `${s}: nothing missing`);
    c.close();
  }
  assert.ok(churned > 0 && posts > 0);
  const r = await fetch(sev.url + '/healthz');
  assert.equal(r.status, 200);
});
