'use strict';
// Helix fidelity: JSON shapes, pagination cursors, error bodies and statuses, scopes, Client-Id,
// the points bucket (Ratelimit-* headers, 429) and injected faults.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startSimAlone } = require('./harness');

let sim;
let app;
let viewer;
let streamers;
let viewerToken;

test.before(async () => {
  sim = await startSimAlone(['--rate-limit', '30']);
  viewer = await sim.createUser('hviewer');
  streamers = [];
  for (let i = 0; i < 5; i++) {
    const s = await sim.createUser(`hstreamer${i}`, { broadcaster_type: 'partner' });
    streamers.push(s);
    await sim.control('POST', '/follows', { user: 'hviewer', broadcaster: s.login });
  }
  await sim.control('POST', '/streams/hstreamer1', { live: true, title: 'speedrun day', game_name: 'Minecraft' });
  await sim.control('POST', '/streams/hstreamer3', { live: true });
  viewerToken = (await sim.userToken('hviewer', ['user:read:follows', 'user:read:email'])).access_token;
  app = await sim.appToken();
});
test.after(() => sim.stop());

const USER_KEYS = ['broadcaster_type', 'created_at', 'description', 'display_name', 'id', 'login', 'offline_image_url', 'profile_image_url', 'type', 'view_count'];

test('Get Users: by login and id, the token user with no parameters, email only for self with the scope', async () => {
  const r = await sim.helix(app, 'GET', `/users?login=hstreamer0&id=${streamers[1].id}&login=nobody`);
  assert.equal(r.status, 200);
  assert.equal(r.json.data.length, 2, 'unknown logins are left out');
  for (const u of r.json.data) assert.deepEqual(Object.keys(u).sort(), USER_KEYS);
  assert.equal(r.json.data[0].broadcaster_type, 'partner');
  const me = await sim.helix(viewerToken, 'GET', '/users');
  assert.equal(me.json.data[0].login, 'hviewer');
  assert.ok(me.json.data[0].email);
  const none = await sim.helix(app, 'GET', '/users');
  assert.equal(none.status, 400);
  assert.equal(none.json.error, 'Bad Request');
  const many = Array.from({ length: 101 }, (_, i) => `login=u${i}`).join('&');
  assert.equal((await sim.helix(app, 'GET', `/users?${many}`)).status, 400);
});

test('Get Streams: live only, shape, filters, offline absent', async () => {
  const r = await sim.helix(app, 'GET', `/streams?user_login=hstreamer1&user_login=hstreamer2&user_id=${streamers[3].id}`);
  assert.equal(r.json.data.length, 2);
  const s = r.json.data.find((x) => x.user_login === 'hstreamer1');
  assert.deepEqual(Object.keys(s).sort(), ['game_id', 'game_name', 'id', 'is_mature', 'language', 'started_at', 'tag_ids', 'tags', 'thumbnail_url', 'title', 'type', 'user_id', 'user_login', 'user_name', 'viewer_count']);
  assert.equal(s.type, 'live');
  assert.equal(s.title, 'speedrun day');
  assert.equal(s.game_name, 'Minecraft');
  assert.match(s.thumbnail_url, /\{width\}x\{height\}/);
  assert.equal(typeof s.viewer_count, 'number');
  const off = await sim.helix(app, 'GET', '/streams?user_login=hstreamer2');
  assert.deepEqual(off.json, { data: [], pagination: {} });
});

test('Get Channel Information', async () => {
  const r = await sim.helix(app, 'GET', `/channels?broadcaster_id=${streamers[1].id}`);
  assert.deepEqual(Object.keys(r.json.data[0]).sort(), ['broadcaster_id', 'broadcaster_language', 'broadcaster_login', 'broadcaster_name', 'content_classification_labels', 'delay', 'game_id', 'game_name', 'is_branded_content', 'tags', 'title']);
  assert.equal(r.json.data[0].title, 'speedrun day');
  assert.equal((await sim.helix(app, 'GET', '/channels')).status, 400);
});

test('Get Followed Channels: newest first, cursor pagination, total, scope and user checks', async () => {
  const page1 = await sim.helix(viewerToken, 'GET', `/channels/followed?user_id=${viewer.id}&first=2`);
  assert.equal(page1.status, 200);
  assert.equal(page1.json.total, 5);
  assert.equal(page1.json.data.length, 2);
  assert.deepEqual(Object.keys(page1.json.data[0]).sort(), ['broadcaster_id', 'broadcaster_login', 'broadcaster_name', 'followed_at']);
  assert.ok(page1.json.pagination.cursor);
  const seen = [...page1.json.data];
  let cursor = page1.json.pagination.cursor;
  while (cursor) {
    const next = await sim.helix(viewerToken, 'GET', `/channels/followed?user_id=${viewer.id}&first=2&after=${encodeURIComponent(cursor)}`);
    seen.push(...next.json.data);
    cursor = next.json.pagination.cursor;
  }
  assert.equal(seen.length, 5);
  assert.equal(new Set(seen.map((f) => f.broadcaster_id)).size, 5);
  const times = seen.map((f) => f.followed_at);
  assert.deepEqual([...times].sort().reverse(), times);
  const one = await sim.helix(viewerToken, 'GET', `/channels/followed?user_id=${viewer.id}&broadcaster_id=${streamers[2].id}`);
  assert.equal(one.json.data.length, 1);
  const other = await sim.helix(viewerToken, 'GET', `/channels/followed?user_id=${streamers[0].id}`);
  assert.equal(other.status, 401);
  const appTry = await sim.helix(app, 'GET', `/channels/followed?user_id=${viewer.id}`);
  assert.equal(appTry.status, 401);
  const noScope = (await sim.userToken('hstreamer4', [])).access_token;
  const r = await sim.helix(noScope, 'GET', `/channels/followed?user_id=${streamers[4].id}`);
  assert.deepEqual(r.json, { error: 'Unauthorized', status: 401, message: 'Missing scope: user:read:follows' });
  assert.equal((await sim.helix(viewerToken, 'GET', `/channels/followed?user_id=${viewer.id}&first=101`)).status, 400);
});

test('Get Followed Streams: the live subset', async () => {
  const r = await sim.helix(viewerToken, 'GET', `/streams/followed?user_id=${viewer.id}`);
  assert.deepEqual(r.json.data.map((s) => s.user_login).sort(), ['hstreamer1', 'hstreamer3']);
});

test('Get Channel Followers: total for anyone, the list for the broadcaster or a moderator with the scope', async () => {
  const plain = await sim.helix(viewerToken, 'GET', `/channels/followers?broadcaster_id=${streamers[0].id}`);
  assert.equal(plain.json.total, 1);
  assert.deepEqual(plain.json.data, []);
  assert.equal((await sim.helix(viewerToken, 'GET', `/channels/followers?broadcaster_id=${streamers[0].id}&user_id=${viewer.id}`)).status, 401);
  const owner = (await sim.userToken('hstreamer0', ['moderator:read:followers'])).access_token;
  const list = await sim.helix(owner, 'GET', `/channels/followers?broadcaster_id=${streamers[0].id}`);
  assert.deepEqual(list.json.data.map((f) => f.user_login), ['hviewer']);
  assert.deepEqual(Object.keys(list.json.data[0]).sort(), ['followed_at', 'user_id', 'user_login', 'user_name']);
});

test('authentication errors use Helix error bodies', async () => {
  const noToken = await sim.request('GET', '/helix/users?login=hviewer', { headers: { 'Client-Id': 'x' } });
  assert.deepEqual(noToken.json, { error: 'Unauthorized', status: 401, message: 'OAuth token is missing' });
  const badToken = await sim.helix('bogus', 'GET', '/users?login=hviewer');
  assert.equal(badToken.json.message, 'Invalid OAuth token');
  const noClient = await sim.request('GET', '/helix/users?login=hviewer', { headers: { Authorization: `Bearer ${app}` } });
  assert.equal(noClient.status, 401);
  const unknown = await sim.helix(app, 'GET', '/nothing-here');
  assert.equal(unknown.status, 404);
});

test('injected faults hit the next N calls to a path, then it recovers', async () => {
  const f = await sim.control('POST', '/faults', { status: 503, count: 2, path: '/helix/users' });
  assert.equal(f.status, 201);
  assert.equal((await sim.helix(app, 'GET', '/streams')).status, 200, 'other paths unaffected');
  const a = await sim.helix(app, 'GET', '/users?login=hviewer');
  assert.deepEqual(a.json, { error: 'Service Unavailable', status: 503, message: 'simulated fault' });
  assert.equal((await sim.helix(app, 'GET', '/users?login=hviewer')).status, 503);
  assert.equal((await sim.helix(app, 'GET', '/users?login=hviewer')).status, 200);
  await sim.control('POST', '/faults', { status: 429, count: 1 });
  const limited = await sim.helix(app, 'GET', '/streams');
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get('ratelimit-remaining'), '0');
});

test('the points bucket: Ratelimit headers count down per client+user, 429 when spent', async () => {
  const token = (await sim.userToken('hstreamer2', [])).access_token;
  const first = await sim.helix(token, 'GET', '/users');
  assert.equal(first.headers.get('ratelimit-limit'), '30');
  const start = Number(first.headers.get('ratelimit-remaining'));
  assert.ok(start >= 28);
  const second = await sim.helix(token, 'GET', '/users');
  assert.ok(Number(second.headers.get('ratelimit-remaining')) < start + 1);
  let last;
  for (let i = 0; i < 40; i++) {
    last = await sim.helix(token, 'GET', '/users');
    if (last.status === 429) break;
  }
  assert.equal(last.status, 429);
  assert.deepEqual(last.json, { error: 'Too Many Requests', status: 429, message: 'Too Many Requests' });
  assert.equal(last.headers.get('ratelimit-remaining'), '0');
  assert.ok(Number(last.headers.get('ratelimit-reset')) >= Math.floor(Date.now() / 1000));
  const otherUser = await sim.helix(viewerToken, 'GET', '/users');
  assert.equal(otherUser.status, 200, 'another user has its own bucket');
});
