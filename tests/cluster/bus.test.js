'use strict';
// Several nodes, one store, one Redis: a webhook on any node reaches viewers on every node,
// once and in the one per-streamer order; the bus may drop (Redis killed) and nodes may die
// (kill -9) without a viewer missing an acknowledged event.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('../lib/harness');
const { startRedis } = require('../lib/redis');
const { startStore, startNode, follow, ids, assertOnce } = require('./lib');

let store, redis, a, b, c;
before(async () => {
  store = await startStore();
  redis = await startRedis();
  a = await startNode(store, redis, 'a');
  b = await startNode(store, redis, 'b');
  c = await startNode(store, redis, 'c');
});
after(async () => {
  try {
    await h.stopAll(a, b, c, redis);
  } finally {
    await store.stop(); // the PostgreSQL server goes even when a node's stop failed
  }
});

async function healthy(node) {
  const r = await fetch(node.url + '/healthz');
  return r.status === 200 ? r.json() : null;
}

test('every node reports ok, its node id and whether it leads', async () => {
  for (const [node, name] of [[a, 'a'], [b, 'b'], [c, 'c']]) {
    const hz = await h.waitFor(`${name} healthy`, () => healthy(node), 10000);
    assert.equal(hz.status, 'ok');
    assert.equal(hz.node, name);
    assert.equal(typeof hz.leader, 'boolean');
  }
});

test('a webhook posted to node B reaches a viewer on node A; A\'s events API stays exact', async () => {
  const streamer = 'cross_' + crypto.randomBytes(3).toString('hex');
  const first = await follow(a, streamer, 'seed');
  assert.equal(first.status, 204);
  const va = await h.openWs(a, streamer);
  // A now has the streamer in memory; what B stores must reach A's viewer and A's first page
  const acked = [first.id];
  for (let i = 0; i < 5; i++) {
    const r = await follow(b, streamer, `viewer${i}`);
    assert.equal(r.status, 204);
    acked.push(r.id);
  }
  await h.waitFor('A\'s viewer to get B\'s five events', () => ids(va).length >= 5, 10000);
  assert.deepEqual(ids(va), acked.slice(1));
  const pageA = await (await fetch(`${a.url}/api/streamers/${streamer}/events?limit=10`)).json();
  const pageB = await (await fetch(`${b.url}/api/streamers/${streamer}/events?limit=10`)).json();
  assert.deepEqual(pageA.events.map((e) => e.id), acked.slice().reverse(), 'A\'s page: newest first, all six');
  assert.deepEqual(pageA.events.map((e) => e.id), pageB.events.map((e) => e.id));
  va.close();
});

test('one message delivered to two nodes is stored and pushed once', async () => {
  const streamer = 'twice_' + crypto.randomBytes(3).toString('hex');
  const va = await h.openWs(a, streamer);
  const vb = await h.openWs(b, streamer);
  const id = crypto.randomUUID();
  const body = h.followBody(streamer, 'alice');
  const [r1, r2] = await Promise.all([h.postWebhook(a, { body, id }), h.postWebhook(b, { body, id })]);
  assert.equal(r1.status, 204);
  assert.equal(r2.status, 204);
  const marker = await follow(c, streamer, 'marker'); // after both: once it arrives, the first has too
  await h.waitFor('the marker on both viewers', () => ids(va).includes(marker.id) && ids(vb).includes(marker.id), 10000);
  assert.deepEqual(ids(va), [id, marker.id]);
  assert.deepEqual(ids(vb), [id, marker.id]);
  const page = await (await fetch(`${c.url}/api/streamers/${streamer}/events?limit=10`)).json();
  assert.equal(page.events.filter((e) => e.id === id).length, 1, 'stored once');
  va.close(); vb.close();
});

test('three nodes, concurrent publishers, one streamer: every viewer gets every acknowledged event once, in one order', async () => {
  const streamer = 'race_' + crypto.randomBytes(3).toString('hex');
  const nodes = [a, b, c];
  const viewers = [];
  for (const n of nodes) for (let i = 0; i < 2; i++) viewers.push(await h.openWs(n, streamer));
  const acked = new Set();
  await Promise.all(nodes.map(async (n, k) => {
    for (let i = 0; i < 30; i++) {
      const r = await follow(n, streamer, `p${k}_${i}`);
      if (r.status === 204) acked.add(r.id);
    }
  }));
  assert.equal(acked.size, 90);
  await h.waitFor('every viewer to have all 90', () => viewers.every((v) => ids(v).length >= 90), 20000);
  const order = ids(viewers[0]);
  for (const v of viewers) {
    assertOnce(ids(v), 'a viewer');
    assert.deepEqual(ids(v), order, 'the same order on every node');
  }
  assert.deepEqual(new Set(order), acked);
  // and since= on any node agrees with that order
  const replay = await h.openWs(c, streamer, order[9]);
  await h.waitFor('the replay', () => ids(replay).length >= 80, 10000);
  assert.deepEqual(ids(replay), order.slice(10));
  for (const v of viewers) v.close();
  replay.close();
});

test('Redis killed for 2 s, then back: no viewer misses an event', async () => {
  const streamer = 'blip_' + crypto.randomBytes(3).toString('hex');
  const va = await h.openWs(a, streamer);
  const vc = await h.openWs(c, streamer);
  const acked = [];
  const before1 = await follow(b, streamer, 'before');
  acked.push(before1.id);
  await h.waitFor('the first event on A', () => ids(va).length === 1, 10000);
  await redis.kill9();
  await h.waitFor('B to report the bus down', async () => (await fetch(b.url + '/healthz')).status === 503, 10000);
  for (let i = 0; i < 5; i++) {
    const r = await follow(b, streamer, `during${i}`);
    if (r.status === 204) acked.push(r.id); // stored: B's store is up; only the bus is away
  }
  assert.equal(acked.length, 6, 'the store takes webhooks while the bus is away');
  await new Promise((r) => setTimeout(r, 2000)); // the outage the issue asks for: 2 s
  await redis.restart();
  await h.waitFor('every node healthy again', async () => (await Promise.all([a, b, c].map(healthy))).every(Boolean), 10000);
  const after1 = await follow(b, streamer, 'after');
  acked.push(after1.id);
  await h.waitFor('A and C to have all 7', () => ids(va).length >= 7 && ids(vc).length >= 7, 10000);
  assert.deepEqual(ids(va), acked);
  assert.deepEqual(ids(vc), acked);
  const metrics = await (await fetch(a.url + '/metrics')).text();
  const filled = Number(/^sev_bus_filled_total (\d+)/m.exec(metrics)?.[1]);
  assert.ok(filled >= 5, `A read the five it missed from the store (sev_bus_filled_total ${filled})`);
  va.close(); vc.close();
});

test('kill -9 of a node while publishing: its viewers reconnect elsewhere with since= and end with exactly the acknowledged set', async () => {
  const streamer = 'crash_' + crypto.randomBytes(3).toString('hex');
  // The since= viewers connect once every node has delivered the seed, so each starts from the
  // same point. (A frame another node published that reaches this node after the replay read
  // it is dropped by streamer_seq: tests/unit/test_hub.c checks that case deterministically.)
  const watchers = [await h.openWs(a, streamer), await h.openWs(b, streamer), await h.openWs(c, streamer)];
  const seed = await follow(b, streamer, 'seed');
  assert.equal(seed.status, 204);
  await h.waitFor('the seed on every node', () => watchers.every((w) => ids(w).includes(seed.id)), 10000);
  const onA = [];
  for (let i = 0; i < 3; i++) onA.push(await h.openWs(a, streamer, seed.id));
  const onB = await h.openWs(b, streamer, seed.id);
  const onC = await h.openWs(c, streamer, seed.id);
  const acked = new Set();
  const ackedBy = new Map(); // id -> node name, for the diagnosis below
  const unacked = [];
  let stop = false;
  const publishers = [a, b, c].map(async (n, k) => {
    for (let i = 0; !stop && i < 200; i++) {
      const r = await follow(n, streamer, `k${k}_${i}`);
      if (r.status === 204) {
        acked.add(r.id);
        ackedBy.set(r.id, 'ABC'[k]);
      } else unacked.push(r);
      if (n === a && r.status !== 204) return; // A is gone
    }
  });
  await h.waitFor('A\'s viewers to get some events', () => ids(onA[0]).length >= 10, 10000);
  // B and C have heard A's heartbeat since their last (re)subscription to the bus
  const inst = /bus\.redis_instance id=(\w+)/.exec(a.proc.output)[1];
  const heardA = (out) => out.slice(out.lastIndexOf('bus.redis_subscribed')).includes(`peer_seen peer=${inst}`);
  for (const n of [b, c]) await h.waitFor('B and C to hear A', () => heardA(n.proc.output), 10000);
  await a.proc.child.kill('SIGKILL');
  await a.proc.exited;
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  await Promise.all(publishers);
  // Twitch redelivers what was not acknowledged (A may have stored some of it): to B
  for (const u of unacked) {
    const r = await h.postWebhook(b, { body: u.body, id: u.id, headers: { 'Twitch-Eventsub-Message-Retry': '1' } });
    assert.equal(r.status, 204);
    acked.add(u.id);
  }
  const want = acked.size;
  const killedAt = Date.now();
  // On a timeout: which acknowledged ids each viewer lacks (and who acknowledged them), and
  // bus_order's counters on the survivors.
  const diagnose = async (e) => {
    const lines = [`${e.message} (${Date.now() - killedAt} ms after the kill)`];
    for (const [name, v] of [['B', onB], ['C', onC]]) {
      const have = new Set(ids(v));
      const missing = [...acked].filter((x) => !have.has(x)).map((x) => `${x} (acked by ${ackedBy.get(x) || 'B, redelivered'})`);
      lines.push(`viewer on ${name}: ${have.size}/${want}, missing ${missing.join(', ') || 'none'}`);
    }
    for (const [name, n] of [['B', b], ['C', c]]) {
      const m = await fetch(n.url + '/metrics').then((r) => r.text()).catch((x) => String(x));
      lines.push(`${name}: ` + m.split('\n').filter((l) => l.startsWith('sev_bus_')).join(' '));
    }
    return new Error(lines.join('\n'));
  };
  // An event A stored and acknowledged but died before publishing reaches B and C only through
  // the store: at the next jump in the sequence, at bus_order's check (every 3 s for a streamer
  // with recent events), and when they notice A's silence on the bus (its heartbeat, every
  // second; lost after 3 s): they then read every streamer they show from the store. The
  // promise (docs/scaling.md): within 5 s of the death.
  for (const v of [onB, onC]) {
    await h.waitFor('B\'s and C\'s viewers to have every acknowledged event', () => ids(v).length >= want, 10000)
      .catch(async (e) => { throw await diagnose(e); });
    assertOnce(ids(v), 'a viewer on B or C');
    assert.deepEqual(new Set(ids(v)), acked);
  }
  const caughtUp = Date.now() - killedAt;
  if (caughtUp > 3000) console.log(`# B and C had every acknowledged event ${caughtUp} ms after the kill`);
  // both noticed A's death on the bus (and so read the store for what A never published)
  for (const n of [b, c])
    await h.waitFor('the survivors to notice A gone', () => n.proc.output.includes('bus.peer_lost'), 10000);
  assert.deepEqual(ids(onB), ids(onC), 'one order on B and C');
  // A's viewers reconnect to B or C with since= their last event
  for (let i = 0; i < onA.length; i++) {
    const got = ids(onA[i]);
    const again = await h.openWs(i % 2 ? b : c, streamer, got[got.length - 1]);
    await h.waitFor('a reconnected viewer to catch up', () => got.length + ids(again).length >= want, 10000);
    const all = got.concat(ids(again));
    assertOnce(all, 'a reconnected viewer');
    assert.deepEqual(all, ids(onB), 'what it saw, then the rest, in the one order');
    again.close();
  }
  for (const v of [onB, onC, ...watchers]) v.close();
  a = await startNode(store, redis, 'a'); // for the tests after this one
});

test('a bus URI sev cannot use stops it with one line naming SEV_BUS and exit 2', async () => {
  const { spawnSync } = require('node:child_process');
  for (const bus of ['amqp://127.0.0.1:5672', 'redis://', 'redis://127.0.0.1:0', 'redis://127.0.0.1:6379/0?x=1']) {
    const r = spawnSync(h.SEV_BIN, [], {
      env: { ...process.env, SEV_BUS: bus, SEV_LISTEN: '127.0.0.1:0', SEV_DATABASE: `sqlite:${a.dir}/other.db`, SEV_KEY_FILE: `${a.dir}/k`, SEV_WEB_DIR: `${h.ROOT}/web` },
      encoding: 'utf8', timeout: 10000,
    });
    assert.equal(r.status, 2, `${bus}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${bus}: one line: ${r.stderr}`);
    assert.match(lines[0], /SEV_BUS/);
  }
});
