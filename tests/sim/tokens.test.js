'use strict';
// GET /sim/tokens: every token the simulator issued, how it was obtained, and whether it still works.
const test = require('node:test');
const assert = require('node:assert/strict');
const { startSimAlone, CLIENT_ID, CLIENT_SECRET } = require('./harness');

let sim;
test.before(async () => {
  sim = await startSimAlone();
  await sim.createUser('tokenlister');
  await sim.createUser('otherlister');
});
test.after(() => sim.stop());

test('lists issued tokens with grant, validity and refresh state; filters by login and grant', async () => {
  const first = await sim.userToken('tokenlister', ['user:read:follows']);
  await sim.userToken('otherlister', []);
  const refreshed = await sim.request('POST', '/oauth2/token', {
    form: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_type: 'refresh_token', refresh_token: first.refresh_token },
  });
  assert.equal(refreshed.status, 200);
  const app = await sim.appToken();

  const mine = (await sim.control('GET', '/tokens?login=tokenlister')).json;
  assert.equal(mine.total, 2);
  const [a, b] = mine.data;
  assert.equal(a.access_token, first.access_token);
  assert.equal(a.refresh_token, first.refresh_token);
  assert.equal(a.grant, 'authorization_code');
  assert.equal(a.kind, 'user');
  assert.equal(a.login, 'tokenlister');
  assert.deepEqual(a.scopes, ['user:read:follows']);
  assert.equal(a.valid, true, 'the old access token lives until it expires');
  assert.equal(a.refresh_valid, false, 'a used refresh token dies');
  assert.equal(b.access_token, refreshed.json.access_token);
  assert.equal(b.grant, 'refresh_token');
  assert.equal(b.refresh_valid, true);

  const refreshes = (await sim.control('GET', '/tokens?grant=refresh_token')).json.data;
  assert.deepEqual(refreshes.map((t) => t.access_token), [refreshed.json.access_token]);
  const apps = (await sim.control('GET', '/tokens?kind=app')).json.data;
  assert.deepEqual(apps.map((t) => [t.access_token, t.refresh_token, t.user_id]), [[app, null, null]]);
  assert.equal((await sim.control('GET', '/tokens')).json.total, 4);

  const revoke = await sim.request('POST', '/oauth2/revoke', { form: { client_id: CLIENT_ID, token: b.access_token } });
  assert.equal(revoke.status, 200);
  const after = (await sim.control('GET', '/tokens?login=tokenlister')).json.data[1];
  assert.equal(after.revoked, true);
  assert.equal(after.valid, false);

  assert.equal((await sim.control('GET', '/tokens?login=nosuchuser')).status, 404);
});

test('refresh tokens carry % and = as Twitch\'s do (clients must URL-encode them)', async () => {
  const t = await sim.userToken('otherlister', []);
  assert.match(t.refresh_token, /^[A-Za-z0-9]+%[A-Za-z0-9]+=$/);
  const good = await sim.request('POST', '/oauth2/token', {
    form: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_type: 'refresh_token', refresh_token: t.refresh_token },
  });
  assert.equal(good.status, 200);
  assert.match(good.json.refresh_token, /%.*=$/);
});
