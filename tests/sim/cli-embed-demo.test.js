'use strict';
// The command line (bad flags: one line, exit 2; --help documents every flag and route), the
// stub embeds and their parent rule, and --demo sending a trickle of events to a subscription.

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { startSimAlone, WsClient, ROOT } = require('./harness');
const { FLAGS, CONTROL_ROUTES } = require(path.join(ROOT, 'tools/twitch-sim/flags.js'));

const MAIN = path.join(ROOT, 'tools/twitch-sim/main.js');
const run = (...args) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 10000 });

test('bad flags: one line on stderr, exit 2', () => {
  for (const args of [['--bogus'], ['--client-id', 'x'], ['--client-id', 'x', '--client-secret', 'y', '--listen', 'nowhere'],
    ['--client-id', 'x', '--client-secret', 'y', '--webhook-retries', '-1'], ['stray']]) {
    const r = run(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^twitch-sim: /);
  }
});

test('--help documents every flag and control route', () => {
  const r = run('--help');
  assert.equal(r.status, 0);
  for (const f of FLAGS) assert.ok(r.stdout.includes(`--${f.name}`), f.name);
  for (const [route] of CONTROL_ROUTES) assert.ok(r.stdout.includes(route), route);
  for (const route of ['/oauth2/', '/helix/', '/ws', '/embed/player', '/embed/{channel}/chat']) assert.ok(r.stdout.includes(route), route);
});

test('logs are JSON lines that never contain secrets or tokens', async () => {
  const sim = await startSimAlone(['--log-level', 'debug']);
  try {
    await sim.createUser('logger');
    const t = await sim.userToken('logger', ['user:read:chat']);
    await sim.request('GET', '/oauth2/validate', { headers: { Authorization: `OAuth ${t.access_token}` } });
    const lines = sim.stderr().trim().split('\n');
    assert.ok(lines.length > 3);
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), line);
    for (const secret of [t.access_token, t.refresh_token, 'simtestsecret00000000000000001']) assert.ok(!sim.stderr().includes(secret));
  } finally {
    sim.stop();
  }
});

test('embeds: parent must be a bare host name; IP addresses rejected; placeholders render', async () => {
  const sim = await startSimAlone();
  try {
    await sim.createUser('embedme');
    await sim.control('POST', '/streams/embedme', { live: true });
    const ok = await sim.request('GET', '/embed/player?channel=embedme&parent=localhost&parent=sev.example.com');
    assert.equal(ok.status, 200);
    assert.match(ok.text, /Live player for Embedme \(simulated\)/);
    assert.match(ok.headers.get('content-security-policy'), /frame-ancestors .*localhost.*sev\.example\.com/);
    const chat = await sim.request('GET', '/embed/embedme/chat?parent=localhost&darkpopout');
    assert.equal(chat.status, 200);
    assert.match(chat.text, /Chat for Embedme/);
    for (const parent of ['127.0.0.1', 'http://localhost', 'localhost:8080', 'localhost/x', '::1', '']) {
      const bad = await sim.request('GET', `/embed/player?channel=embedme&parent=${encodeURIComponent(parent)}`);
      assert.equal(bad.status, 400, parent);
      assert.match(bad.text, /parent/);
    }
    assert.equal((await sim.request('GET', '/embed/player?channel=embedme')).status, 400);
    assert.equal((await sim.request('GET', '/embed/embedme/chat')).status, 400);
  } finally {
    sim.stop();
  }
});

test('--demo: demo streamers exist, some live, and events reach a subscription every few seconds', async () => {
  const sim = await startSimAlone(['--demo', '--auto-approve', 'demoviewer']);
  try {
    const users = (await sim.control('GET', '/users')).json.data;
    assert.ok(users.length >= 25);
    const app = await sim.appToken();
    const live = await sim.helix(app, 'GET', '/streams');
    assert.ok(live.json.data.length >= 1);
    const t = await sim.userToken('demoviewer', ['user:read:follows', 'user:read:chat']);
    const me = (await sim.helix(t.access_token, 'GET', '/users')).json.data[0];
    const followed = await sim.helix(t.access_token, 'GET', `/channels/followed?user_id=${me.id}`);
    assert.ok(followed.json.total >= 1, 'the auto-approved viewer follows demo streamers');
    const target = followed.json.data[0].broadcaster_id;
    const socket = await WsClient.connect(sim.wsUrl());
    for (const type of ['channel.chat.message', 'channel.chat.notification']) {
      const r = await sim.subscribe(t.access_token, type, '1', { broadcaster_user_id: target, user_id: me.id }, { method: 'websocket', session_id: socket.sessionId });
      assert.equal(r.status, 202);
    }
    const first = await socket.next('notification', () => true, 8000);
    assert.equal(first.payload.event.broadcaster_user_id, target);
    await socket.next('notification', () => true, 8000);
    socket.close();
  } finally {
    sim.stop();
  }
});

test('unknown routes answer 404 JSON', async () => {
  const sim = await startSimAlone();
  try {
    for (const p of ['/nothing', '/sim/nothing', '/oauth2/nothing']) {
      const r = await sim.request('GET', p);
      assert.equal(r.status, 404, p);
      assert.ok(r.json, p);
    }
  } finally {
    sim.stop();
  }
});
