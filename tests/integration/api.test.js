'use strict';
// Read API, pages, headers, configuration errors and shutdown.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const net = require('node:net');
const h = require('../lib/harness');

let sev;
before(async () => { sev = await h.startSev(); });
after(async () => { await sev.stop(); });

async function post(streamer, viewer, type) {
  const body = h.followBody(streamer, viewer);
  if (type) body.subscription.type = type;
  const id = crypto.randomUUID();
  assert.equal((await h.postWebhook(sev, { body, id })).status, 204);
  return id;
}

test('events API: newest first, limit, before, 404, bad input', async () => {
  const ids = [];
  for (let i = 0; i < 15; i++) ids.push(await post('apistreamer', `fan${i}`));
  let r = await fetch(`${sev.url}/api/streamers/apistreamer/events`);
  assert.equal(r.status, 200);
  let j = await r.json();
  assert.deepEqual(j.streamer, { id: h.idFor('apistreamer'), login: 'apistreamer', display_name: 'Apistreamer' });
  assert.deepEqual(j.events.map((e) => e.id), ids.slice(5).reverse(), 'default limit 10, newest first');
  r = await fetch(`${sev.url}/api/streamers/APIStreamer/events?limit=3&before=${ids[10]}`);
  j = await r.json();
  assert.deepEqual(j.events.map((e) => e.id), [ids[9], ids[8], ids[7]]);
  r = await fetch(`${sev.url}/api/streamers/apistreamer/events?limit=100`);
  assert.equal((await r.json()).events.length, 15);
  assert.equal((await fetch(`${sev.url}/api/streamers/neverheardof/events`)).status, 404);
  // without Twitch credentials nothing has said whether the stream is live: null, not a guess
  const info = await (await fetch(`${sev.url}/api/streamers/apistreamer`)).json();
  assert.equal(info.streamer.login, 'apistreamer');
  assert.equal(info.live, null);
  assert.equal(info.viewer_count, null);
  for (const q of ['limit=0', 'limit=101', 'limit=abc', 'before=']) {
    const b = await fetch(`${sev.url}/api/streamers/apistreamer/events?${q}`);
    assert.equal(b.status, 400, q);
    assert.equal(typeof (await b.json()).error, 'string');
  }
  assert.equal((await fetch(`${sev.url}/api/streamers/bad%20name/events`)).status, 400);
});

test('the events API answers the same from memory as from the store', async () => {
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push(await post('memcache', `m${i}`));
  const a = await (await fetch(`${sev.url}/api/streamers/memcache/events`)).json(); // warms
  ids.push(await post('memcache', 'm3'));
  const b = await (await fetch(`${sev.url}/api/streamers/memcache/events`)).json(); // memory
  assert.deepEqual(a.events.map((e) => e.id), ids.slice(0, 3).reverse());
  assert.deepEqual(b.events.map((e) => e.id), ids.slice().reverse());
  assert.deepEqual(b.events[1], a.events[0]);
});

test('the events API\'s kept newest page follows new events, the limit asked and HEAD', async () => {
  const url = `${sev.url}/api/streamers/pagecache/events`;
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push(await post('pagecache', `p${i}`));
  const get = async (q = '') => (await fetch(url + q)).json();
  await get(); // warms the channel from the store
  const a = await get(); // from memory: the page is built and kept
  const b = await get(); // the kept page
  assert.deepEqual(b, a);
  assert.deepEqual(b.events.map((e) => e.id), ids.slice().reverse());
  ids.push(await post('pagecache', 'p3'));
  const c = await get();
  assert.deepEqual(c.events.map((e) => e.id), ids.slice().reverse());
  assert.deepEqual((await get('?limit=2')).events.map((e) => e.id), ids.slice(-2).reverse());
  assert.deepEqual((await get()).events.map((e) => e.id), ids.slice().reverse());
  const head = await fetch(url, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
  assert.equal(head.headers.get('cache-control'), 'no-store');
});

test('stats: events per streamer and per type', async () => {
  await post('statsa', 'x1');
  await post('statsa', 'x2');
  await post('statsa', 'x3', 'channel.cheer');
  await post('statsb', 'x4');
  const rows = await (await fetch(`${sev.url}/api/stats/streamers`)).json();
  const a = rows.find((r) => r.streamer === 'statsa');
  const b = rows.find((r) => r.streamer === 'statsb');
  assert.equal(a.events, 3);
  assert.equal(b.events, 1);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1].events >= rows[i].events, 'sorted by count');
  const types = await (await fetch(`${sev.url}/api/stats/streamers/statsa/types`)).json();
  assert.deepEqual(types, [{ type: 'channel.follow', events: 2 }, { type: 'channel.cheer', events: 1 }]);
  const hourly = await (await fetch(`${sev.url}/api/stats/streamers/statsa/hourly?hours=3`)).json();
  assert.equal(hourly.length, 3);
  assert.equal(hourly[2].events, 3);
  assert.equal((await fetch(`${sev.url}/api/stats/streamers/statsa/hourly?hours=0`)).status, 400);
});

test('healthz and metrics', async () => {
  const r = await fetch(`${sev.url}/healthz`);
  const health = await r.json();
  assert.deepEqual(health, { status: 'ok', node: health.node, leader: true }, 'one SQLite node leads');
  assert.match(health.node, /^[^:]+:\d+$/, 'the node id defaults to host:port');
  const m = await (await fetch(`${sev.url}/metrics`)).text();
  for (const name of ['sev_http_requests_total', 'sev_websocket_clients', 'sev_events_ingested_total', 'sev_fanout_latency_seconds_bucket', 'sev_webhook_messages_total']) {
    assert.match(m, new RegExp(`^${name}`, 'm'), name);
  }
  assert.match(m, /sev_events_ingested_total\{outcome="stored"\} [1-9]/);
});

test('pages, assets, 404, security headers, ETag and gzip', async () => {
  const home = await fetch(`${sev.url}/`);
  assert.equal(home.status, 200);
  assert.match(home.headers.get('content-type'), /^text\/html/);
  const csp = home.headers.get('content-security-policy');
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self';/);
  assert.match(csp, /frame-src https:\/\/player\.twitch\.tv https:\/\/www\.twitch\.tv/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.equal(home.headers.get('x-content-type-options'), 'nosniff');
  const etag = home.headers.get('etag');
  assert.ok(etag);
  const again = await fetch(`${sev.url}/`, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  for (const p of ['/streamer/somebody', '/streamer/somebody/overlay', '/analytics', '/account']) {
    const r = await fetch(sev.url + p);
    assert.equal(r.status, 200, p);
    assert.match(r.headers.get('content-type'), /^text\/html/, p);
  }
  const nf = await fetch(`${sev.url}/no/such/page`);
  assert.equal(nf.status, 404);
  assert.match(nf.headers.get('content-type'), /^text\/html/);
  const apinf = await fetch(`${sev.url}/api/nothing`);
  assert.equal(apinf.status, 404);
  assert.equal(typeof (await apinf.json()).error, 'string');
  const gz = await fetch(`${sev.url}/`, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(gz.headers.get('content-encoding'), 'gzip'); // fetch decodes it for us
  assert.match(await gz.text(), /<html/i);
  const cfg = await (await fetch(`${sev.url}/config.json`)).json();
  assert.deepEqual(cfg.parents, ['localhost']);
  assert.equal(cfg.embed_ok, true);
});

test('path traversal finds nothing', async () => {
  for (const p of ['/../Makefile', '/%2e%2e/Makefile', '/css/../../Makefile', '/..%2fMakefile', '/.git/config', '/index.html']) {
    const raw = await rawRequest(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(raw, /^HTTP\/1.1 (404|400)/, p);
    assert.doesNotMatch(raw, /\$\(B\)|repositoryformatversion/, p);
  }
});

function rawRequest(text) {
  return new Promise((resolve, reject) => {
    const s = net.connect(sev.port, '127.0.0.1', () => s.write(text));
    let out = '';
    s.on('data', (d) => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

test('malformed HTTP gets 400, huge headers 431, and the server keeps serving', async () => {
  assert.match(await rawRequest('BLAH\r\n\r\n'), /^HTTP\/1.1 400/);
  assert.match(await rawRequest(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`), /^HTTP\/1.1 431/);
  const pipelined = await rawRequest('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(pipelined.match(/HTTP\/1.1 200/g).length, 2, 'pipelined requests are both answered');
  // a chunked webhook with a trailer header (once a crash, found by the fuzzer): a clear 403
  const body = '{"a":1}';
  const chunked = await rawRequest(`POST /eventsub/webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\nX-Trailer: t\r\nTwitch-Eventsub-Message-Id: sneaky\r\n\r\n`);
  assert.match(chunked, /^HTTP\/1.1 403/);
  assert.equal((await fetch(`${sev.url}/healthz`)).status, 200);
});

test('--help and bad configuration', () => {
  const help = spawnSync(h.SEV_BIN, ['--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  for (const v of ['SEV_LISTEN', 'SEV_PUBLIC_URL', 'SEV_DATABASE', 'SEV_BUS', 'TWITCH_CLIENT_ID', 'TWITCH_EVENTSUB_SECRET', 'TWITCH_EVENTSUB_WS_URL']) {
    assert.match(help.stdout, new RegExp(v), v);
  }
  const bad = [
    ['SEV_LISTEN', 'nonsense'], ['SEV_PUBLIC_URL', 'ftp://x'], ['SEV_DATABASE', 'mysql://x'],
    ['SEV_BUS', 'carrier-pigeon'], ['TWITCH_EVENTSUB_SECRET', 'short'], ['TWITCH_EVENTSUB_TRANSPORT', 'smoke'],
    ['SEV_DATABASE', 'sqlite:/proc/nope/sev.db'],
  ];
  for (const [k, v] of bad) {
    const r = spawnSync(h.SEV_BIN, [], { encoding: 'utf8', env: { ...process.env, SEV_LISTEN: '127.0.0.1:0', [k]: v } });
    assert.equal(r.status, 2, `${k}=${v}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[lines.length - 1], new RegExp(`^sev: ${k}`), `${k}=${v} names the variable: ${r.stderr}`);
  }
  const flag = spawnSync(h.SEV_BIN, ['--no-such-flag'], { encoding: 'utf8' });
  assert.equal(flag.status, 2);
});

test('SIGTERM with deliveries in flight: every acknowledged event is stored, exit 0', async () => {
  const other = await h.startSev();
  const received = async () => Number((await (await fetch(`${other.url}/metrics`)).text())
    .match(/sev_events_received_total\{transport="webhook"\} (\d+)/)[1]);
  // Another process holds the write lock, so every delivery below is in flight (submitted,
  // not yet durable) when SIGTERM arrives; the lock goes right after.
  const holder = spawn('sqlite3', [path.join(other.dir, 'sev.db')], { stdio: ['pipe', 'pipe', 'ignore'] });
  let out = '';
  holder.stdout.on('data', (d) => { out += d; });
  holder.stdin.write("BEGIN IMMEDIATE;\nINSERT INTO settings(key, value) VALUES ('hold', '1');\nSELECT 'locked';\n");
  await h.waitFor('the write lock held', () => out.includes('locked'));
  const N = 40;
  const ids = Array.from({ length: N }, () => crypto.randomUUID());
  const answers = ids.map((id, i) => h.postWebhook(other, { body: h.followBody('shutdown', `v${i}`), id })
    .then((r) => r.status, () => 'closed'));
  await h.waitFor('every delivery submitted', async () => (await received()) === N);
  other.proc.child.kill('SIGTERM');
  holder.stdin.end('ROLLBACK;\n.quit\n');
  const statuses = await Promise.all(answers);
  const { code } = await other.proc.exited; // (a second SIGTERM would stop it at once)
  other.proc.checkSanitizers();
  assert.equal(code, 0);
  assert.match(other.proc.output, /msg=sev.stopped/);
  const acked = ids.filter((id, i) => statuses[i] === 204);
  assert.ok(acked.length > 0, `acknowledged after SIGTERM: ${statuses}`);
  for (const s of statuses) assert.ok([204, 503, 'closed'].includes(s), `${s}`);
  // restart on the same database: every acknowledged event is there
  const again = await h.startSev({ dir: other.dir });
  const j = await (await fetch(`${again.url}/api/streamers/shutdown/events?limit=100`)).json();
  const stored = new Set(j.events.map((e) => e.id));
  for (const id of acked) assert.ok(stored.has(id), `acknowledged ${id} is stored`);
  await again.stop();
});

test('capabilities list every type with a reason when SEV has no Twitch credentials', async () => {
  const r = await fetch(`${sev.url}/api/streamers/somebody/capabilities`);
  assert.equal(r.status, 200);
  const { types } = await r.json();
  for (const t of ['stream.online', 'channel.raid', 'channel.chat.notification', 'channel.follow', 'channel.subscribe']) {
    const row = types.find((x) => x.type === t);
    assert.ok(row, t);
    assert.equal(row.receiving, false, t);
    assert.match(row.reason, /TWITCH_CLIENT_ID/, t);
    assert.equal(typeof row.label, 'string');
  }
  assert.equal((await fetch(`${sev.url}/api/streamers/bad%20name/capabilities`)).status, 400);
});

test('capabilities carry the labels and icons of every type, from the one type table', async () => {
  const r = await fetch(`${sev.url}/api/streamers/somebody/capabilities`);
  const { types, labels } = await r.json();
  // every subscribed type has a page label, a plural (analytics) and an icon
  for (const t of types) {
    const row = labels.types[t.type];
    assert.ok(row, t.type);
    for (const k of ['label', 'plural', 'icon', 'tone']) assert.equal(typeof row[k], 'string', `${t.type}.${k}`);
    assert.match(t.version, /^\d+$/);
  }
  for (const t of ['channel.bits.use', 'channel.goal.begin', 'channel.charity_campaign.donate', 'channel.shoutout.receive',
    'channel.shared_chat.begin', 'channel.ad_break.begin', 'channel.channel_points_automatic_reward_redemption.add', 'sev.gap']) {
    assert.ok(labels.types[t], t);
  }
  assert.equal(types.find((t) => t.type === 'channel.channel_points_automatic_reward_redemption.add').version, '2');
  const timeout = labels.variants.find((v) => v.type === 'channel.ban' && v.key === 'is_permanent');
  assert.deepEqual([timeout.value, timeout.label], ['false', 'Timeout']);
  assert.ok(labels.variants.some((v) => v.type === 'channel.chat.notification' && v.value === 'community_sub_gift'));
  // every icon the table names is a symbol of web/icons.svg
  const svg = require('node:fs').readFileSync(require('node:path').join(h.ROOT, 'web/icons.svg'), 'utf8');
  for (const icon of [...Object.values(labels.types), ...labels.variants].map((r) => r.icon)) {
    assert.ok(svg.includes(`id="${icon}"`), `${icon} in web/icons.svg`);
  }
});
