'use strict';
// OAuth fidelity: authorization-code flow (state pass-through, redirect URI check, single-use
// codes, consent page, denial), rotating refresh tokens, client credentials, validate, revoke,
// expiry, and a user's revoked grant.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startSimAlone, waitFor, CLIENT_ID, CLIENT_SECRET, REDIRECT } = require('./harness');

let sim;
test.before(async () => {
  sim = await startSimAlone(['--app', 'otherclient:othersecret']);
  await sim.createUser('oalice');
  await sim.createUser('obob');
});
test.after(() => sim.stop());

const authorizeUrl = (extra = {}) => `/oauth2/authorize?${new URLSearchParams({
  client_id: CLIENT_ID, redirect_uri: REDIRECT, response_type: 'code', scope: 'user:read:follows user:read:chat', state: 'c3RhdGU-1', ...extra,
})}`;
const exchange = (code, extra = {}) => sim.request('POST', '/oauth2/token', {
  form: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, code, grant_type: 'authorization_code', redirect_uri: REDIRECT, ...extra },
});
const refresh = (refreshToken) => sim.request('POST', '/oauth2/token', {
  form: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_type: 'refresh_token', refresh_token: refreshToken },
});
const validate = (token, prefix = 'OAuth') => sim.request('GET', '/oauth2/validate', { headers: { Authorization: `${prefix} ${token}` } });

async function approvedCode(login) {
  await sim.control('POST', '/auth/next', { login });
  const r = await sim.request('GET', authorizeUrl());
  assert.equal(r.status, 302);
  return new URL(r.headers.get('location'));
}

test('approval redirects with code, granted scopes and the state unchanged; codes are single use', async () => {
  const loc = await approvedCode('oalice');
  assert.equal(loc.origin + loc.pathname, REDIRECT);
  assert.equal(loc.searchParams.get('state'), 'c3RhdGU-1');
  assert.equal(loc.searchParams.get('scope'), 'user:read:follows user:read:chat');
  const code = loc.searchParams.get('code');
  const first = await exchange(code);
  assert.equal(first.status, 200);
  assert.deepEqual(Object.keys(first.json).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
  assert.deepEqual(first.json.scope, ['user:read:follows', 'user:read:chat']);
  assert.equal(first.json.token_type, 'bearer');
  assert.equal(first.json.expires_in, 14400);
  const second = await exchange(code);
  assert.equal(second.status, 400);
  assert.equal(second.json.status, 400);
});

test('code exchange checks redirect_uri and the client secret', async () => {
  const code = (await approvedCode('oalice')).searchParams.get('code');
  assert.equal((await exchange(code, { redirect_uri: 'http://localhost:9999/other' })).status, 400);
  const code2 = (await approvedCode('oalice')).searchParams.get('code');
  const wrong = await exchange(code2, { client_secret: 'nope' });
  assert.equal(wrong.status, 403);
  assert.deepEqual(wrong.json, { status: 403, message: 'invalid client secret' });
});

test('redirect URIs: loopback http accepted when none is registered; others refused', async () => {
  const bad = await sim.request('GET', authorizeUrl({ redirect_uri: 'https://evil.example.com/cb' }));
  assert.equal(bad.status, 400);
  const badClient = await sim.request('GET', authorizeUrl({ client_id: 'unknown' }));
  assert.equal(badClient.status, 400);
  await sim.control('POST', '/auth/next', { login: 'oalice' });
  const ok = await sim.request('GET', authorizeUrl({ redirect_uri: 'http://127.0.0.1:5555/x' }));
  assert.equal(ok.status, 302);
  assert.match(ok.headers.get('location'), /^http:\/\/127\.0\.0\.1:5555\/x\?code=/);
});

test('a registered --redirect-uri is the only one accepted', async () => {
  const strict = await startSimAlone(['--redirect-uri', 'http://localhost:7000/cb', '--auto-approve', 'carol']);
  try {
    const q = (uri) => `/oauth2/authorize?client_id=${CLIENT_ID}&redirect_uri=${encodeURIComponent(uri)}&response_type=code&scope=&state=z`;
    assert.equal((await strict.request('GET', q('http://localhost:8080/auth/callback'))).status, 400);
    const ok = await strict.request('GET', q('http://localhost:7000/cb'));
    assert.equal(ok.status, 302, 'auto-approve answers at once');
    const loc = new URL(ok.headers.get('location'));
    assert.equal(loc.searchParams.get('state'), 'z');
    const t = await strict.request('POST', '/oauth2/token', {
      form: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, code: loc.searchParams.get('code'), grant_type: 'authorization_code', redirect_uri: 'http://localhost:7000/cb' },
    });
    const v = await strict.request('GET', '/oauth2/validate', { headers: { Authorization: `OAuth ${t.json.access_token}` } });
    assert.equal(v.json.login, 'carol');
  } finally {
    strict.stop();
  }
});

test('without an approver a consent page is shown; approve and deny', async () => {
  const page = await sim.request('GET', authorizeUrl({ force_verify: 'true' }));
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /text\/html/);
  assert.match(page.text, /oalice/i);
  assert.match(page.text, /user:read:follows/);
  const form = {
    client_id: CLIENT_ID, redirect_uri: REDIRECT, response_type: 'code', scope: 'user:read:follows', state: 'st8', login: 'obob',
  };
  const yes = await sim.request('POST', '/oauth2/authorize', { form: { ...form, decision: 'approve' } });
  assert.equal(yes.status, 302);
  assert.ok(new URL(yes.headers.get('location')).searchParams.get('code'));
  const no = await sim.request('POST', '/oauth2/authorize', { form: { ...form, decision: 'deny' } });
  const denied = new URL(no.headers.get('location'));
  assert.equal(denied.searchParams.get('error'), 'access_denied');
  assert.equal(denied.searchParams.get('error_description'), 'The user denied you access');
  assert.equal(denied.searchParams.get('state'), 'st8');
  assert.equal(denied.searchParams.get('code'), null);
  // The browser that approved is remembered: the next request for the same scopes comes straight
  // back, unless force_verify.
  const cookie = yes.headers.get('set-cookie').split(';')[0];
  const again = await sim.request('GET', authorizeUrl({ scope: 'user:read:follows' }), { headers: { Cookie: cookie } });
  assert.equal(again.status, 302);
  const forced = await sim.request('GET', authorizeUrl({ scope: 'user:read:follows', force_verify: 'true' }), { headers: { Cookie: cookie } });
  assert.equal(forced.status, 200);
});

test('POST /sim/auth/next can deny', async () => {
  await sim.control('POST', '/auth/next', { approve: false });
  const r = await sim.request('GET', authorizeUrl());
  assert.equal(new URL(r.headers.get('location')).searchParams.get('error'), 'access_denied');
});

test('refresh tokens rotate; a used refresh token is refused', async () => {
  const t = await sim.userToken('oalice', ['user:read:follows']);
  const r1 = await refresh(t.refresh_token);
  assert.equal(r1.status, 200);
  assert.notEqual(r1.json.refresh_token, t.refresh_token);
  assert.notEqual(r1.json.access_token, t.access_token);
  assert.deepEqual(r1.json.scope, ['user:read:follows']);
  const reused = await refresh(t.refresh_token);
  assert.equal(reused.status, 400);
  assert.deepEqual(reused.json, { error: 'Bad Request', status: 400, message: 'Invalid refresh token' });
  assert.equal((await refresh(r1.json.refresh_token)).status, 200);
});

test('validate: OAuth and Bearer prefixes, expires_in', async () => {
  const t = await sim.userToken('oalice', ['user:read:follows']);
  for (const prefix of ['OAuth', 'Bearer']) {
    const v = await validate(t.access_token, prefix);
    assert.equal(v.status, 200);
    assert.equal(v.json.client_id, CLIENT_ID);
    assert.equal(v.json.login, 'oalice');
    assert.match(v.json.user_id, /^\d+$/);
    assert.deepEqual(v.json.scopes, ['user:read:follows']);
    assert.equal(typeof v.json.expires_in, 'number');
  }
  const bad = await validate('notatoken');
  assert.equal(bad.status, 401);
  assert.deepEqual(bad.json, { status: 401, message: 'invalid access token' });
  assert.equal((await sim.request('GET', '/oauth2/validate')).status, 401);
});

test('tokens expire after --token-lifetime; the refresh token still works', async () => {
  const short = await startSimAlone(['--token-lifetime', '2']);
  try {
    await short.createUser('brief');
    const t = await short.userToken('brief', []);
    assert.equal(t.expires_in, 2);
    const check = (token) => short.request('GET', '/oauth2/validate', { headers: { Authorization: `OAuth ${token}` } });
    await waitFor('the 2 s token to expire', async () => (await check(t.access_token)).status === 401, 5000);
    assert.equal((await short.helix(t.access_token, 'GET', '/users')).status, 401);
    const r = await short.request('POST', '/oauth2/token', {
      form: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_type: 'refresh_token', refresh_token: t.refresh_token },
    });
    assert.equal(r.status, 200);
    assert.equal((await check(r.json.access_token)).status, 200);
  } finally {
    short.stop();
  }
});

test('client credentials: app token without refresh token; validate lacks login and user_id', async () => {
  const r = await sim.request('POST', '/oauth2/token', { form: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_type: 'client_credentials' } });
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'token_type']);
  const v = await validate(r.json.access_token);
  assert.equal(v.status, 200);
  assert.equal(v.json.login, undefined);
  assert.equal(v.json.user_id, undefined);
  assert.equal(v.json.client_id, CLIENT_ID);
  // Query parameters work as well as a form body.
  const q = await sim.request('POST', `/oauth2/token?client_id=${CLIENT_ID}&client_secret=${CLIENT_SECRET}&grant_type=client_credentials`);
  assert.equal(q.status, 200);
});

test('revoke: 200 then the token is invalid; bad token 400; unknown client 404', async () => {
  const t = await sim.userToken('obob', []);
  const r = await sim.request('POST', '/oauth2/revoke', { form: { client_id: CLIENT_ID, token: t.access_token } });
  assert.equal(r.status, 200);
  assert.equal(r.text, '');
  assert.equal((await validate(t.access_token)).status, 401);
  const again = await sim.request('POST', '/oauth2/revoke', { form: { client_id: CLIENT_ID, token: t.access_token } });
  assert.deepEqual(again.json, { status: 400, message: 'Invalid token' });
  const unknown = await sim.request('POST', '/oauth2/revoke', { form: { client_id: 'nobody', token: 'x' } });
  assert.deepEqual(unknown.json, { status: 404, message: 'client does not exist' });
});

test('a user revoking the grant kills validate and refresh, for that client only', async () => {
  const mine = await sim.userToken('obob', ['user:read:chat']);
  const other = await sim.userToken('obob', [], 'otherclient', 'othersecret');
  const r = await sim.control('POST', '/auth/revoke', { login: 'obob', client_id: CLIENT_ID });
  assert.equal(r.status, 200);
  assert.equal((await validate(mine.access_token, 'Bearer')).status, 401);
  assert.equal((await refresh(mine.refresh_token)).json.message, 'Invalid refresh token');
  assert.equal((await validate(other.access_token)).status, 200);
});

test('a token is bound to its client: Helix with another Client-Id is 401', async () => {
  const t = await sim.userToken('oalice', []);
  const r = await sim.helix(t.access_token, 'GET', '/users', undefined, 'otherclient');
  assert.equal(r.status, 401);
  assert.deepEqual(r.json, { error: 'Unauthorized', status: 401, message: 'Client ID and OAuth token do not match' });
});
