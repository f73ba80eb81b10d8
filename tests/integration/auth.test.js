'use strict';
// Issue 4 (accounts) against the simulator: the login round trip and its cookies (also behind
// https); bad, missing, reused and foreign `state`, a refused code, a denied authorization,
// Twitch down, a flood of unfinished logins; expired and rejected access tokens refreshed (once,
// even for concurrent calls); a dead grant (revoked refresh token, failed periodic or start-up
// validation, a changed key) ending the sessions; the favorite's validation and Helix failures;
// followed channels over several pages with live flags; account deletion (also racing a
// lookup); logout; cross-origin writes refused; a clean stop with Twitch calls pending; and,
// over the whole file, no token, code or session id ever in a response, a cookie, sev's log or
// the database in plain text (the last test looks at everything the others saw).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../lib/harness');
const tw = require('../lib/twitch');

// ---- everything sev answers is kept, to look for tokens in it at the end ----

const realFetch = globalThis.fetch;
const simUrls = [];
const answers = []; // {url, status, location, setCookies, body}
globalThis.fetch = async (input, init) => {
  const res = await realFetch(input, init);
  const url = String(input instanceof Request ? input.url : input);
  if (!simUrls.some((u) => url.startsWith(u))) {
    const body = await res.clone().text();
    answers.push({ url, status: res.status, location: res.headers.get('location'), setCookies: res.headers.getSetCookie(), body });
  }
  return res;
};

const sims = [];
const sevs = [];
const issued = new Map(); // token string -> what it is (for the message)

async function newSim(args = []) {
  const s = await tw.startSim(args);
  sims.push(s);
  simUrls.push(s.url, s.url.replace('127.0.0.1', 'localhost'));
  return s;
}

async function newSev(s, opts = {}) {
  const v = await tw.startSevWithSim(s, opts);
  sevs.push(v);
  return v;
}

// Every token the simulator has issued so far goes into `issued`.
async function collectTokens(s) {
  const r = await realFetch(`${s.url}/sim/tokens`);
  assert.equal(r.status, 200);
  for (const t of (await r.json()).data) {
    issued.set(t.access_token, `${t.kind} access token of ${t.login ?? 'the app'} (${t.grant})`);
    if (t.refresh_token) issued.set(t.refresh_token, `refresh token of ${t.login} (${t.grant})`);
  }
}

async function tokensOf(s, login, query = '') {
  return (await s.get(`/sim/tokens?login=${login}${query}`)).data;
}

async function validateAtSim(s, token) {
  return (await realFetch(`${s.url}/oauth2/validate`, { headers: { Authorization: `OAuth ${token}` } })).status;
}

function sql(v, query) {
  return execFileSync('sqlite3', ['-batch', '-noheader', '-cmd', '.timeout 5000', path.join(v.dir, 'sev.db'), query], { encoding: 'utf8' }).trim();
}

function rowsFor(v, userId) {
  return {
    users: Number(sql(v, `SELECT count(*) FROM users WHERE id = '${userId}'`)),
    sessions: Number(sql(v, `SELECT count(*) FROM sessions WHERE user_id = '${userId}'`)),
    tokens: Number(sql(v, `SELECT count(*) FROM tokens WHERE owner = '${userId}'`)),
    favorites: Number(sql(v, `SELECT count(*) FROM favorites WHERE user_id = '${userId}'`)),
  };
}

// Raw request to sev with a jar and extra headers; JSON parsed when it is JSON.
async function call(v, jar, method, p, { body, headers = {}, raw } = {}) {
  const hd = { ...headers };
  if (jar && jar.cookies.size) hd.cookie = jar.header();
  if (body !== undefined && !Object.keys(hd).some((k) => k.toLowerCase() === 'content-type')) hd['content-type'] = 'application/json';
  const r = await fetch(v.url + p, {
    method, headers: hd, redirect: 'manual', body: raw !== undefined ? raw : body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  return { status: r.status, body: json, text, headers: r.headers, setCookies: r.headers.getSetCookie() };
}

function cookieLine(lines, name) {
  return lines.find((l) => l.startsWith(`${name}=`));
}

// The first half of a login: GET /auth/login (state cookie into jar), then the simulator's
// /authorize answering as `login` (or denying). Returns the callback URL (on 127.0.0.1) the
// browser would be sent to, without following it.
async function startLogin(v, s, jar, login, approve = true) {
  if (login) await s.user(login);
  await s.post('/sim/auth/next', approve ? { login } : { approve: false });
  const first = await fetch(`${v.url}/auth/login`, { redirect: 'manual', headers: jar.cookies.size ? { cookie: jar.header() } : {} });
  assert.equal(first.status, 302);
  jar.take(first);
  const authorize = new URL(first.headers.get('location'));
  const second = await fetch(authorize, { redirect: 'manual' });
  assert.equal(second.status, 302);
  const back = new URL(second.headers.get('location'));
  back.hostname = '127.0.0.1';
  return { authorize, callback: back };
}

async function finishLogin(v, jar, callbackUrl) {
  const r = await fetch(callbackUrl, { redirect: 'manual', headers: jar.cookies.size ? { cookie: jar.header() } : {} });
  jar.take(r);
  return { status: r.status, location: r.headers.get('location'), setCookies: r.headers.getSetCookie(), text: await r.text() };
}

const sessionCount = (v) => Number(sql(v, 'SELECT count(*) FROM sessions'));

let sim;
let sev;

before(async () => {
  sim = await newSim();
  sev = await newSev(sim);
});

after(async () => {
  await h.stopAll(...sevs, ...sims);
});

// ---- 1. the login round trip ----

test('login round trip: authorize URL, HttpOnly SameSite=Lax session cookie, /api/me, sealed token', async () => {
  const trace = [];
  const jar = await tw.loginAs(sev, sim, 'roundtripper', '', new tw.Jar(), trace);
  const [login, authorize, callback] = trace;
  assert.equal(login.status, 302);
  const to = new URL(login.location);
  assert.equal(`${to.origin}${to.pathname}`, `${sim.url}/oauth2/authorize`);
  assert.equal(to.searchParams.get('response_type'), 'code');
  assert.equal(to.searchParams.get('client_id'), tw.CLIENT_ID);
  assert.equal(to.searchParams.get('redirect_uri'), `http://localhost:${sev.port}/auth/callback`);
  assert.deepEqual(to.searchParams.get('scope').split(' ').sort(), ['user:read:chat', 'user:read:follows']);
  assert.match(to.searchParams.get('state'), /^[0-9a-f]{64}$/);
  const stateCookie = cookieLine(login.setCookies, 'sev_state');
  assert.ok(stateCookie, 'a state cookie binds the login to this browser');
  assert.match(stateCookie, /HttpOnly/i);
  assert.ok(!stateCookie.includes(to.searchParams.get('state')), 'the cookie is not the state itself');

  assert.equal(authorize.status, 302);
  assert.equal(callback.status, 302);
  assert.equal(callback.location, '/');
  const line = cookieLine(callback.setCookies, 'sev_session');
  assert.ok(line, `a session cookie: ${callback.setCookies}`);
  const attrs = line.split(';').map((a) => a.trim().toLowerCase());
  assert.ok(attrs.includes('httponly'), line);
  assert.ok(attrs.includes('samesite=lax'), line);
  assert.ok(attrs.includes('path=/'), line);
  assert.ok(!attrs.includes('secure'), 'not Secure on plain http');
  assert.match(jar.cookies.get('sev_session'), /^[0-9a-f]{64}$/);
  assert.ok(callback.setCookies.some((l) => /^sev_state=;/.test(l) && /max-age=0/i.test(l)), 'the state cookie is cleared');

  const user = await sim.user('roundtripper');
  const me = await tw.api(sev, jar, 'GET', '/api/me');
  assert.equal(me.status, 200);
  assert.equal(me.body.id, user.id);
  assert.equal(me.body.login, 'roundtripper');
  assert.equal(me.body.display_name, user.display_name);
  assert.equal(me.body.profile_image_url, user.profile_image_url);
  assert.equal(me.body.favorite, null);
  assert.match(me.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.ok(Math.abs(Date.parse(me.body.created_at) - Date.now()) < 120000, 'created just now');
  assert.deepEqual([...me.body.scopes].sort(), ['user:read:chat', 'user:read:follows']);

  // the token is stored, sealed: neither token in the blob
  const [tok] = await tokensOf(sim, 'roundtripper');
  const blob = sql(sev, `SELECT hex(sealed) FROM tokens WHERE owner = '${user.id}'`);
  assert.ok(blob.length > 2 * tok.access_token.length, 'a sealed token row');
  for (const t of [tok.access_token, tok.refresh_token]) assert.ok(!blob.includes(Buffer.from(t).toString('hex').toUpperCase()));
  // the session is kept as a hash only
  const key = sql(sev, `SELECT lower(hex(key)) FROM sessions WHERE user_id = '${user.id}'`);
  assert.match(key, /^[0-9a-f]{64}$/);
  assert.notEqual(key, Buffer.from(jar.cookies.get('sev_session')).toString('hex'));
  assert.notEqual(key, jar.cookies.get('sev_session'));
});

test('a second login from the same browser rotates the session id; the old one is dead', async () => {
  const jar = await tw.loginAs(sev, sim, 'rotator');
  const first = jar.cookies.get('sev_session');
  const old = new tw.Jar();
  old.cookies.set('sev_session', first);
  assert.equal((await tw.api(sev, old, 'GET', '/api/me')).status, 200);
  const [firstToken] = await tokensOf(sim, 'rotator');
  await tw.loginAs(sev, sim, 'rotator', '', jar);
  const second = jar.cookies.get('sev_session');
  // SEV keeps one Twitch token per user: the one the new login replaced is revoked, not forgotten
  await h.waitFor('the replaced token revoked at Twitch', async () => (await validateAtSim(sim, firstToken.access_token)) === 401, 10000, 50);
  const [, secondToken] = await tokensOf(sim, 'rotator');
  assert.equal(await validateAtSim(sim, secondToken.access_token), 200);
  assert.match(second, /^[0-9a-f]{64}$/);
  assert.notEqual(second, first);
  assert.equal((await tw.api(sev, jar, 'GET', '/api/me')).body.login, 'rotator');
  const stale = await tw.api(sev, old, 'GET', '/api/me');
  assert.equal(stale.status, 401);
  assert.equal(stale.body.reason, 'session_expired');
  const id = (await sim.user('rotator')).id;
  assert.equal(rowsFor(sev, id).sessions, 1, 'one session left for the user');
});

// ---- 2. state and denial ----

test('a wrong, missing or reused state, or a missing code, is a 400 page and makes no session', async () => {
  const before0 = sessionCount(sev);
  const jar = new tw.Jar();
  const { callback } = await startLogin(sev, sim, jar, 'statecheck');
  const state = callback.searchParams.get('state');
  const stateCookie = jar.cookies.get('sev_state');

  const wrong = new URL(callback);
  wrong.searchParams.set('state', state.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')));
  let r = await finishLogin(sev, jar, wrong);
  assert.equal(r.status, 400);
  assert.match(r.text, /didn.t work/i);
  assert.ok(!cookieLine(r.setCookies, 'sev_session'));

  // a failed check used the state up? The cookie was cleared; a well-formed retry with the
  // right state and cookie still must not work twice — here it is its first use
  const missing = new URL(callback);
  missing.searchParams.delete('state');
  jar.cookies.set('sev_state', stateCookie);
  r = await finishLogin(sev, jar, missing);
  assert.equal(r.status, 400);
  assert.ok(!cookieLine(r.setCookies, 'sev_session'));

  const noCode = new URL(callback);
  noCode.searchParams.delete('code');
  const jar2 = new tw.Jar();
  const second = await startLogin(sev, sim, jar2, 'statecheck');
  noCode.searchParams.set('state', second.callback.searchParams.get('state'));
  r = await finishLogin(sev, jar2, noCode);
  assert.equal(r.status, 400);
  assert.ok(!cookieLine(r.setCookies, 'sev_session'));

  // no state cookie at all
  const bare = new tw.Jar();
  const third = await startLogin(sev, sim, bare, 'statecheck');
  bare.cookies.delete('sev_state');
  r = await finishLogin(sev, bare, third.callback);
  assert.equal(r.status, 400);
  assert.ok(!cookieLine(r.setCookies, 'sev_session'));
  assert.equal(sessionCount(sev), before0, 'no session made');

  // reuse: a good login, then the same callback URL with the same state cookie again
  const jar4 = new tw.Jar();
  const fourth = await startLogin(sev, sim, jar4, 'statecheck');
  const cookie4 = jar4.cookies.get('sev_state');
  r = await finishLogin(sev, jar4, fourth.callback);
  assert.equal(r.status, 302);
  assert.equal(r.location, '/');
  assert.equal(sessionCount(sev), before0 + 1);
  const replay = new tw.Jar();
  replay.cookies.set('sev_state', cookie4);
  r = await finishLogin(sev, replay, fourth.callback);
  assert.equal(r.status, 400, 'a state is single use');
  assert.ok(!cookieLine(r.setCookies, 'sev_session'));
  assert.equal(sessionCount(sev), before0 + 1);
});

test('a state issued to another browser is refused (login CSRF)', async () => {
  const before0 = sessionCount(sev);
  const attacker = new tw.Jar();
  const { callback } = await startLogin(sev, sim, attacker, 'attacker');
  const victim = new tw.Jar();
  await fetch(`${sev.url}/auth/login`, { redirect: 'manual' }).then((r) => victim.take(r)); // the victim's own login attempt
  assert.ok(victim.cookies.get('sev_state'));
  const r = await finishLogin(sev, victim, callback);
  assert.equal(r.status, 400);
  assert.ok(!cookieLine(r.setCookies, 'sev_session'));
  assert.equal(sessionCount(sev), before0);
  // and the attacker's own browser can still use it: the refusal did not spend it
  const ok = await finishLogin(sev, attacker, callback);
  assert.equal(ok.status, 302);
  assert.equal(ok.location, '/');
});

test('a denied authorization lands on a friendly message, with no session', async () => {
  const before0 = sessionCount(sev);
  const jar = new tw.Jar();
  const { callback } = await startLogin(sev, sim, jar, null, false);
  assert.equal(callback.searchParams.get('error'), 'access_denied');
  const r = await finishLogin(sev, jar, callback);
  assert.equal(r.status, 302);
  assert.equal(new URL(r.location, sev.url).pathname, '/');
  assert.equal(new URL(r.location, sev.url).searchParams.get('error'), 'access_denied');
  assert.ok(!cookieLine(r.setCookies, 'sev_session'));
  assert.equal(sessionCount(sev), before0);
  // the page shows a sentence for that error
  const ui = await fetch(`${sev.url}/js/ui.js`);
  assert.equal(ui.status, 200);
  assert.match(await ui.text(), /access_denied:\s*'You cancelled the Twitch login/);
});

// ---- 6. the favorite ----

test('PUT /api/me/favorite: a real login is 200 and shows in /api/me; unknown 404; DELETE clears', async () => {
  const streamer = await sim.user('favstreamer');
  const jar = await tw.loginAs(sev, sim, 'favfan');
  let r = await tw.api(sev, jar, 'PUT', '/api/me/favorite', { login: 'FavStreamer' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.id, streamer.id);
  assert.equal(r.body.login, 'favstreamer');
  assert.equal(r.body.display_name, streamer.display_name);
  assert.equal(r.body.profile_image_url, streamer.profile_image_url);
  const me = await tw.api(sev, jar, 'GET', '/api/me');
  assert.deepEqual(me.body.favorite, { id: streamer.id, login: 'favstreamer', display_name: streamer.display_name });

  r = await tw.api(sev, jar, 'PUT', '/api/me/favorite', { login: 'nosuchstreamer' });
  assert.equal(r.status, 404);
  assert.equal(typeof r.body.error, 'string');
  assert.match(r.body.error, /nosuchstreamer/);
  assert.equal((await tw.api(sev, jar, 'GET', '/api/me')).body.favorite.login, 'favstreamer', 'a failed PUT changes nothing');

  r = await tw.api(sev, jar, 'DELETE', '/api/me/favorite');
  assert.equal(r.status, 204);
  assert.equal((await tw.api(sev, jar, 'GET', '/api/me')).body.favorite, null);
  const id = (await sim.user('favfan')).id;
  assert.equal(rowsFor(sev, id).favorites, 0);
});

test('PUT /api/me/favorite refuses malformed input with 400 JSON, other types with 415, strangers with 401', async () => {
  await sim.user('favstreamer');
  const jar = await tw.loginAs(sev, sim, 'favchecker');
  const bad = [
    ['too short', JSON.stringify({ login: '' })], // 1..25: old Twitch accounts have 1-3 characters
    ['too long', JSON.stringify({ login: 'a'.repeat(26) })],
    ['bad characters', JSON.stringify({ login: 'bad-name!' })],
    ['a space', JSON.stringify({ login: 'bad name' })],
    ['non-ASCII', JSON.stringify({ login: 'naïveuser' })],
    ['a number', JSON.stringify({ login: 12345 })],
    ['null', JSON.stringify({ login: null })],
    ['no login', JSON.stringify({ name: 'favstreamer' })],
    ['an array', JSON.stringify(['favstreamer'])],
    ['a string', JSON.stringify('favstreamer')],
    ['empty body', ''],
    ['invalid JSON', '{"login":'],
    ['trailing garbage', '{"login":"favstreamer"} x'],
  ];
  for (const [what, raw] of bad) {
    const r = await call(sev, jar, 'PUT', '/api/me/favorite', { raw, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, `${what}: ${r.text}`);
    assert.equal(typeof r.body?.error, 'string', `${what}: JSON error`);
    assert.match(r.headers.get('content-type'), /application\/json/);
  }
  const long = await call(sev, jar, 'PUT', '/api/me/favorite', { body: { login: 'x'.repeat(5000) } });
  assert.equal(long.status, 400);
  assert.ok(long.body.error.length < 300, 'the message does not echo a huge name');
  // a long name of multi-byte characters is cut between characters: the answer stays UTF-8
  for (const name of ['a' + 'é'.repeat(30), 'é'.repeat(30), 'ab' + '😀'.repeat(20), 'é'.repeat(19) + 'x']) {
    const r = await fetch(`${sev.url}/api/me/favorite`, { method: 'PUT', headers: { cookie: jar.header(), 'content-type': 'application/json' }, body: JSON.stringify({ login: name }) });
    assert.equal(r.status, 400);
    const text = new TextDecoder('utf-8', { fatal: true }).decode(await r.arrayBuffer()); // throws on a cut character
    assert.ok(JSON.parse(text).error.includes(name.slice(0, 5)), text);
  }

  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx']) {
    const r = await call(sev, jar, 'PUT', '/api/me/favorite', { raw: '{"login":"favstreamer"}', headers: { 'content-type': type } });
    assert.equal(r.status, 415, type);
    assert.equal(typeof r.body.error, 'string');
  }
  const noType = await fetch(`${sev.url}/api/me/favorite`, { method: 'PUT', headers: { cookie: jar.header() }, body: new Uint8Array(Buffer.from('{"login":"favstreamer"}')) });
  assert.equal(noType.status, 415);
  const charset = await call(sev, jar, 'PUT', '/api/me/favorite', { raw: '{"login":"favstreamer"}', headers: { 'content-type': 'application/json; charset=utf-8' } });
  assert.equal(charset.status, 200, 'a charset parameter is fine');

  const stranger = await tw.api(sev, null, 'PUT', '/api/me/favorite', { login: 'favstreamer' });
  assert.equal(stranger.status, 401);
  assert.equal(stranger.body.reason, 'login_required');
  assert.equal((await tw.api(sev, null, 'DELETE', '/api/me/favorite')).status, 401);
  const forged = new tw.Jar();
  forged.cookies.set('sev_session', 'f'.repeat(64));
  assert.equal((await tw.api(sev, forged, 'PUT', '/api/me/favorite', { login: 'favstreamer' })).status, 401);
  forged.cookies.set('sev_session', 'not-hex');
  assert.equal((await tw.api(sev, forged, 'GET', '/api/me')).status, 401);
});

// ---- 7. followed channels ----

test('GET /api/me/following returns every followed channel over several pages, live ones flagged', async () => {
  const fan = await sim.user('manyfollows');
  const N = 130;
  const logins = [];
  for (let i = 0; i < N; i++) {
    const login = `chan${String(i).padStart(3, '0')}`;
    logins.push(login);
    await sim.user(login);
    await sim.post('/sim/follows', { user: fan.login, broadcaster: login });
  }
  const live = new Set([logins[0], logins[57], logins[104], logins[129]]);
  for (const l of live) await sim.post(`/sim/streams/${l}`, { live: true, title: 'on air' });
  const jar = await tw.loginAs(sev, sim, 'manyfollows');
  const r = await tw.api(sev, jar, 'GET', '/api/me/following');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.length, N);
  assert.deepEqual(r.body.map((c) => c.login).sort(), logins);
  assert.equal(new Set(r.body.map((c) => c.id)).size, N);
  for (const c of r.body) {
    assert.deepEqual(Object.keys(c).sort(), ['display_name', 'id', 'live', 'login']);
    assert.equal(c.live, live.has(c.login), c.login);
    assert.equal(c.display_name, c.login[0].toUpperCase() + c.login.slice(1));
  }
  // one goes offline: the next answer says so
  await sim.post(`/sim/streams/${logins[104]}`, { live: false });
  const again = await tw.api(sev, jar, 'GET', '/api/me/following');
  assert.equal(again.body.find((c) => c.login === logins[104]).live, false);
  assert.equal(again.body.filter((c) => c.live).length, live.size - 1);
  // no follows: an empty list
  const lonely = await tw.loginAs(sev, sim, 'nofollows');
  const none = await tw.api(sev, lonely, 'GET', '/api/me/following');
  assert.equal(none.status, 200);
  assert.deepEqual(none.body, []);
  assert.equal((await tw.api(sev, null, 'GET', '/api/me/following')).status, 401);
});

// ---- 3. expired and rejected access tokens ----

test('an access token Twitch stopped accepting is refreshed and the call still succeeds', async () => {
  await sim.user('favstreamer');
  const jar = await tw.loginAs(sev, sim, 'rejected');
  const [tok] = await tokensOf(sim, 'rejected');
  // revoked out of band (as when Twitch invalidates a token): Helix answers 401
  const rv = await realFetch(`${sim.url}/oauth2/revoke`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: tw.CLIENT_ID, token: tok.access_token }),
  });
  assert.equal(rv.status, 200);
  const r = await tw.api(sev, jar, 'PUT', '/api/me/favorite', { login: 'favstreamer' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const refreshed = await tokensOf(sim, 'rejected', '&grant=refresh_token');
  assert.equal(refreshed.length, 1, 'one refresh');
  assert.equal(refreshed[0].valid, true);
  assert.equal((await tw.api(sev, jar, 'GET', '/api/me/following')).status, 200);
  assert.equal((await tokensOf(sim, 'rejected', '&grant=refresh_token')).length, 1, 'the new token is reused, not refreshed again');
});

test('expired access tokens are refreshed: calls needing Helix succeed after expiry', async () => {
  const short = await newSim(['--token-lifetime', '4']);
  const v = await newSev(short);
  try {
    await short.user('shortstreamer');
    await short.user('expiring');
    await short.post('/sim/follows', { user: 'expiring', broadcaster: 'shortstreamer' });
    const jar = await tw.loginAs(v, short, 'expiring');
    const [first] = await tokensOf(short, 'expiring', '&grant=authorization_code');
    await h.waitFor('the first access token to expire', async () => (await validateAtSim(short, first.access_token)) === 401, 15000, 100);
    const fav = await tw.api(v, jar, 'PUT', '/api/me/favorite', { login: 'shortstreamer' });
    assert.equal(fav.status, 200, JSON.stringify(fav.body));
    const refreshes = await tokensOf(short, 'expiring', '&grant=refresh_token');
    assert.ok(refreshes.length >= 1, 'the simulator saw a refresh');
    // a fresh token is used, not refreshed at every call even though it lives less than the
    // usual refresh margin (at most one more refresh if the calls cross a quarter of its life)
    for (let i = 0; i < 3; i++) assert.equal((await tw.api(v, jar, 'GET', '/api/me/following')).status, 200);
    const after3 = await tokensOf(short, 'expiring', '&grant=refresh_token');
    assert.ok(after3.length - refreshes.length <= 1, `three calls made ${after3.length - refreshes.length} refreshes`);
    const newest = after3[after3.length - 1];
    await h.waitFor('that token to expire too', async () => (await validateAtSim(short, newest.access_token)) === 401, 15000, 100);
    const f = await tw.api(v, jar, 'GET', '/api/me/following');
    assert.equal(f.status, 200, JSON.stringify(f.body));
    assert.deepEqual(f.body.map((c) => c.login), ['shortstreamer']);
    assert.ok((await tokensOf(short, 'expiring', '&grant=refresh_token')).length > after3.length, 'refreshed again');
    assert.equal((await tw.api(v, jar, 'GET', '/api/me')).status, 200, 'the session lives on');
    // the stored (sealed) token follows the refreshes: a restart still works
    await v.stop();
    const v2 = await newSev(short, { dir: v.dir });
    const again = await tw.api(v2, jar, 'GET', '/api/me/following');
    assert.equal(again.status, 200, `after a restart: ${JSON.stringify(again.body)}`);
    await collectTokens(short);
    await h.stopAll(v2);
  } finally {
    await collectTokens(short);
    await h.stopAll(v, short);
  }
});

// ---- 4. a revoked grant ----

test('a revoked grant (refresh refused) ends the user\'s sessions: 401 telling to log in again', async () => {
  const jar = await tw.loginAs(sev, sim, 'revokee');
  const other = await tw.loginAs(sev, sim, 'revokee'); // a second browser of the same user
  const bystander = await tw.loginAs(sev, sim, 'bystander');
  const id = (await sim.user('revokee')).id;
  assert.equal(rowsFor(sev, id).sessions, 2);
  const rv = await sim.post('/sim/auth/revoke', { login: 'revokee' });
  assert.ok(rv.revoked_tokens >= 1);
  const r = await tw.api(sev, jar, 'GET', '/api/me/following');
  assert.equal(r.status, 401, JSON.stringify(r.body));
  assert.match(r.body.error, /log in again/i);
  for (const j of [jar, other]) {
    const me = await tw.api(sev, j, 'GET', '/api/me');
    assert.equal(me.status, 401, 'every session of the user ended');
    assert.equal(me.body.reason, 'session_expired');
    assert.match(me.body.error, /log in again/i);
  }
  assert.equal((await tw.api(sev, jar, 'PUT', '/api/me/favorite', { login: 'favstreamer' })).status, 401);
  await h.waitFor('the sessions and tokens rows to go', () => rowsFor(sev, id).sessions === 0 && rowsFor(sev, id).tokens === 0, 10000, 50);
  assert.equal(rowsFor(sev, id).users, 1, 'the account itself stays');
  assert.equal((await tw.api(sev, bystander, 'GET', '/api/me')).status, 200, 'other users are untouched');
  // logging in again works
  const back = await tw.loginAs(sev, sim, 'revokee');
  assert.equal((await tw.api(sev, back, 'GET', '/api/me/following')).status, 200);
});

// ---- 5. validation ----

test('periodic validation: a revoked token ends the session without any request', async () => {
  const v = await newSev(sim, { env: { SEV_VALIDATE_INTERVAL: '1', SEV_LOG_LEVEL: 'debug' } });
  try {
    const jar = await tw.loginAs(v, sim, 'validatee');
    const id = (await sim.user('validatee')).id;
    // validations of a good token keep it
    const runs = () => (v.proc.output.match(/auth\.validate_all/g) || []).length;
    const base = runs();
    await h.waitFor('two validation rounds', () => runs() >= base + 2, 15000, 50);
    assert.equal((await tw.api(v, jar, 'GET', '/api/me')).status, 200);
    assert.equal(rowsFor(v, id).tokens, 1);
    await sim.post('/sim/auth/revoke', { login: 'validatee' });
    await h.waitFor('the session to end', async () => (await tw.api(v, jar, 'GET', '/api/me')).status === 401, 15000, 100);
    await h.waitFor('the rows to go', () => rowsFor(v, id).sessions === 0 && rowsFor(v, id).tokens === 0, 15000, 100);
    const me = await tw.api(v, jar, 'GET', '/api/me');
    assert.equal(me.body.reason, 'session_expired');
    assert.match(v.proc.output, /auth\.grant_ended[^\n]*user_id=\d+[^\n]*reason=refresh_refused/);
  } finally {
    await collectTokens(sim);
    await h.stopAll(v);
  }
});

// ---- 10. logout ----

test('POST /auth/logout revokes the token at Twitch and clears the cookie; without a session it is harmless', async () => {
  const jar = await tw.loginAs(sev, sim, 'leaver');
  const id = (await sim.user('leaver')).id;
  const [tok] = await tokensOf(sim, 'leaver', '&grant=authorization_code');
  assert.equal(await validateAtSim(sim, tok.access_token), 200);
  const phone = await tw.loginAs(sev, sim, 'leaver'); // the same user in another browser
  assert.equal((await tw.api(sev, phone, 'GET', '/api/me')).status, 200);
  const r = await call(sev, jar, 'POST', '/auth/logout');
  assert.equal(r.status, 204);
  const line = cookieLine(r.setCookies, 'sev_session');
  assert.ok(line && /^sev_session=;/.test(line) && /max-age=0/i.test(line) && /path=\//i.test(line), `cleared: ${line}`);
  await h.waitFor('every token SEV was given revoked at Twitch', async () => {
    for (const t of await tokensOf(sim, 'leaver')) if ((await validateAtSim(sim, t.access_token)) !== 401) return false;
    return true;
  }, 10000, 50);
  assert.equal(await validateAtSim(sim, tok.access_token), 401);
  assert.equal((await tw.api(sev, jar, 'GET', '/api/me')).status, 401);
  // SEV holds one Twitch token per user and logout revokes it: every session of the user ends
  assert.equal((await tw.api(sev, phone, 'GET', '/api/me')).status, 401);
  await h.waitFor('the rows to go', () => rowsFor(sev, id).sessions === 0 && rowsFor(sev, id).tokens === 0, 10000, 50);

  const none = await call(sev, null, 'POST', '/auth/logout');
  assert.equal(none.status, 204);
  const junk = new tw.Jar();
  junk.cookies.set('sev_session', 'garbage');
  assert.equal((await call(sev, junk, 'POST', '/auth/logout')).status, 204);
  assert.equal((await call(sev, jar, 'POST', '/auth/logout')).status, 204, 'twice is fine');
  assert.equal((await fetch(`${sev.url}/healthz`)).status, 200);
});

// ---- 11. cross-origin writes ----

test('cookie-authenticated writes from another origin are refused with 403 JSON', async () => {
  await sim.user('favstreamer');
  const jar = await tw.loginAs(sev, sim, 'csrfvictim');
  const id = (await sim.user('csrfvictim')).id;
  const foreign = [
    { origin: 'http://evil.example' },
    { origin: `http://localhost:${sev.port + 1}` }, // same site, other origin
    { origin: 'null' },
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
  ];
  for (const headers of foreign) {
    for (const [method, p, body] of [['PUT', '/api/me/favorite', { login: 'favstreamer' }], ['DELETE', '/api/me/favorite'], ['DELETE', '/api/me'], ['POST', '/auth/logout']]) {
      const r = await call(sev, jar, method, p, { body, headers });
      assert.equal(r.status, 403, `${method} ${p} with ${JSON.stringify(headers)}: ${r.text}`);
      assert.equal(typeof r.body.error, 'string');
    }
  }
  assert.equal((await tw.api(sev, jar, 'GET', '/api/me')).body.favorite, null, 'nothing changed');
  assert.equal(rowsFor(sev, id).users, 1);
  // the same origin (either name of it) and non-browser clients are fine
  for (const headers of [{ origin: `http://localhost:${sev.port}` }, { origin: sev.url, 'sec-fetch-site': 'same-origin' }, {}]) {
    const r = await call(sev, jar, 'PUT', '/api/me/favorite', { body: { login: 'favstreamer' }, headers });
    assert.equal(r.status, 200, `${JSON.stringify(headers)}: ${r.text}`);
  }
  // reads stay open to any origin's headers (they change nothing)
  assert.equal((await call(sev, jar, 'GET', '/api/me', { headers: { origin: 'http://evil.example' } })).status, 200);
});

// ---- 8. account deletion ----

test('DELETE /api/me removes every row of the user, revokes the token at Twitch, and kills the cookie', async () => {
  await sim.user('favstreamer');
  const jar = await tw.loginAs(sev, sim, 'deleteme');
  const second = await tw.loginAs(sev, sim, 'deleteme');
  const keeper = await tw.loginAs(sev, sim, 'keeper');
  const id = (await sim.user('deleteme')).id;
  const keeperId = (await sim.user('keeper')).id;
  assert.equal((await tw.api(sev, jar, 'PUT', '/api/me/favorite', { login: 'favstreamer' })).status, 200);
  assert.equal((await tw.api(sev, keeper, 'PUT', '/api/me/favorite', { login: 'favstreamer' })).status, 200);
  assert.deepEqual(rowsFor(sev, id), { users: 1, sessions: 2, tokens: 1, favorites: 1 });
  const toks = await tokensOf(sim, 'deleteme');
  const live = [];
  for (const t of toks) if ((await validateAtSim(sim, t.access_token)) === 200) live.push(t.access_token);
  assert.ok(live.length >= 1);

  const r = await call(sev, jar, 'DELETE', '/api/me');
  assert.equal(r.status, 204, r.text);
  const line = cookieLine(r.setCookies, 'sev_session');
  assert.ok(line && /max-age=0/i.test(line), 'the cookie is cleared');
  await h.waitFor('no row of the user left', () => {
    const rows = rowsFor(sev, id);
    return rows.users + rows.sessions + rows.tokens + rows.favorites === 0;
  }, 10000, 50);
  const current = live[live.length - 1];
  await h.waitFor('the token revoked at Twitch', async () => (await validateAtSim(sim, current)) === 401, 10000, 50);
  for (const j of [jar, second]) assert.equal((await tw.api(sev, j, 'GET', '/api/me')).status, 401);
  assert.equal((await tw.api(sev, jar, 'DELETE', '/api/me')).status, 401);
  assert.deepEqual(rowsFor(sev, keeperId), { users: 1, sessions: 1, tokens: 1, favorites: 1 }, 'others untouched');
  assert.equal((await tw.api(sev, keeper, 'GET', '/api/me')).body.favorite.login, 'favstreamer');
  // logging in again makes a fresh account
  const back = await tw.loginAs(sev, sim, 'deleteme');
  const me = await tw.api(sev, back, 'GET', '/api/me');
  assert.equal(me.status, 200);
  assert.equal(me.body.favorite, null);
});

// ---- more of the login flow ----

test('a valid state with a code Twitch refuses is a 400 page and makes no session', async () => {
  const before0 = sessionCount(sev);
  const jar = new tw.Jar();
  const { callback } = await startLogin(sev, sim, jar, 'badcode');
  callback.searchParams.set('code', 'x'.repeat(30));
  const r = await finishLogin(sev, jar, callback);
  assert.equal(r.status, 400);
  assert.match(r.text, /didn.t work/i);
  assert.ok(!cookieLine(r.setCookies, 'sev_session'));
  assert.equal(sessionCount(sev), before0);
});

test('?broadcaster=1 asks for the broadcaster scopes too; /api/me lists what was granted', async () => {
  const trace = [];
  const jar = await tw.loginAs(sev, sim, 'scopedstreamer', '?broadcaster=1', new tw.Jar(), trace);
  const asked = new URL(trace[0].location).searchParams.get('scope').split(' ');
  for (const scope of ['user:read:follows', 'user:read:chat', 'moderator:read:followers', 'channel:read:subscriptions', 'bits:read']) {
    assert.ok(asked.includes(scope), scope);
  }
  const me = await tw.api(sev, jar, 'GET', '/api/me');
  assert.deepEqual([...me.body.scopes].sort(), [...asked].sort());
});

test('Twitch not answering the code exchange: a friendly redirect, no session', async () => {
  const gone = await newSim();
  const v = await newSev(gone);
  try {
    const jar = new tw.Jar();
    const { callback } = await startLogin(v, gone, jar, 'unlucky');
    await collectTokens(gone);
    await gone.stop();
    const r = await finishLogin(v, jar, callback);
    assert.equal(r.status, 302);
    assert.equal(new URL(r.location, v.url).searchParams.get('error'), 'twitch_unavailable');
    assert.ok(!cookieLine(r.setCookies, 'sev_session'));
    assert.equal(sessionCount(v), 0);
    assert.equal((await fetch(`${v.url}/healthz`)).status, 200);
  } finally {
    await h.stopAll(v, gone);
  }
});

test('a flood of unfinished logins does not lock everyone else out', async () => {
  const N = 10050; // more than SEV keeps pending (10000)
  let done = 0;
  const worker = async () => {
    while (done < N) {
      done++;
      const r = await realFetch(`${sev.url}/auth/login`, { redirect: 'manual' });
      assert.equal(r.status, 302);
      await r.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  const jar = await tw.loginAs(sev, sim, 'afterflood');
  const me = await tw.api(sev, jar, 'GET', '/api/me');
  assert.equal(me.status, 200);
  assert.equal(me.body.login, 'afterflood');
});

// ---- Twitch failing under the favorite and the follows ----

test('Helix errors: one 503 is retried away; persistent ones are a 502 JSON error that changes nothing', async () => {
  await sim.user('favstreamer');
  await sim.user('otherstreamer');
  const jar = await tw.loginAs(sev, sim, 'unluckyfan');
  assert.equal((await tw.api(sev, jar, 'PUT', '/api/me/favorite', { login: 'favstreamer' })).status, 200);
  try {
    await sim.post('/sim/faults', { status: 503, count: 1, path: '/helix/channels/followed' });
    assert.equal((await tw.api(sev, jar, 'GET', '/api/me/following')).status, 200, 'retried');
    await sim.post('/sim/faults', { status: 503, count: 50, path: '/helix/users' });
    const r = await tw.api(sev, jar, 'PUT', '/api/me/favorite', { login: 'otherstreamer' });
    assert.equal(r.status, 502, JSON.stringify(r.body));
    assert.equal(typeof r.body.error, 'string');
    await sim.call('DELETE', '/sim/faults');
    await sim.post('/sim/faults', { status: 500, count: 50, path: '/helix/channels/followed' });
    const f = await tw.api(sev, jar, 'GET', '/api/me/following');
    assert.equal(f.status, 502, JSON.stringify(f.body));
    assert.equal(typeof f.body.error, 'string');
  } finally {
    await sim.call('DELETE', '/sim/faults');
  }
  assert.equal((await tw.api(sev, jar, 'GET', '/api/me')).body.favorite.login, 'favstreamer', 'unchanged');
  assert.equal((await tw.api(sev, jar, 'GET', '/api/me/following')).status, 200);
});

test('many calls at once with a rejected token make one refresh and all succeed', async () => {
  const jar = await tw.loginAs(sev, sim, 'busyuser');
  const [tok] = await tokensOf(sim, 'busyuser');
  const rv = await realFetch(`${sim.url}/oauth2/revoke`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: tw.CLIENT_ID, token: tok.access_token }),
  });
  assert.equal(rv.status, 200);
  const all = await Promise.all(Array.from({ length: 8 }, () => tw.api(sev, jar, 'GET', '/api/me/following')));
  assert.deepEqual(all.map((r) => r.status), Array(8).fill(200), JSON.stringify(all.map((r) => r.body)));
  const refreshes = await tokensOf(sim, 'busyuser', '&grant=refresh_token');
  assert.equal(refreshes.length, 1, 'one refresh for all of them (refresh tokens are single use)');
  assert.equal((await tw.api(sev, jar, 'GET', '/api/me')).status, 200);
});

// ---- restarts ----

test('at start-up every stored token is validated: a grant revoked while sev was down ends its sessions', async () => {
  const v = await newSev(sim);
  try {
    const gone = await tw.loginAs(v, sim, 'revokedwhiledown');
    const kept = await tw.loginAs(v, sim, 'keptwhiledown');
    const goneId = (await sim.user('revokedwhiledown')).id;
    await v.stop();
    await sim.post('/sim/auth/revoke', { login: 'revokedwhiledown' });
    const v2 = await newSev(sim, { dir: v.dir });
    await h.waitFor('the dead grant\'s session to end', async () => (await tw.api(v2, gone, 'GET', '/api/me')).status === 401, 15000, 100);
    assert.equal((await tw.api(v2, gone, 'GET', '/api/me')).body.reason, 'session_expired');
    await h.waitFor('its rows to go', () => rowsFor(v2, goneId).sessions === 0 && rowsFor(v2, goneId).tokens === 0, 10000, 50);
    const me = await tw.api(v2, kept, 'GET', '/api/me');
    assert.equal(me.status, 200, 'a good grant survives the restart');
    assert.deepEqual([...me.body.scopes].sort(), ['user:read:chat', 'user:read:follows'], 'scopes come back from the store');
    assert.equal((await tw.api(v2, kept, 'GET', '/api/me/following')).status, 200, 'its stored token works');
    await h.stopAll(v2);
  } finally {
    await collectTokens(sim);
    await h.stopAll(v);
  }
});

test('tokens sealed with another key (SEV_KEY_FILE changed) are dropped: those users log in again', async () => {
  const v = await newSev(sim);
  try {
    const jar = await tw.loginAs(v, sim, 'keychanged');
    const id = (await sim.user('keychanged')).id;
    await v.stop();
    const v2 = await newSev(sim, { dir: v.dir, env: { SEV_KEY_FILE: path.join(v.dir, 'other.key') } });
    await h.waitFor('the unreadable grant\'s session to end', async () => (await tw.api(v2, jar, 'GET', '/api/me')).status === 401, 15000, 100);
    await h.waitFor('its rows to go', () => rowsFor(v2, id).sessions === 0 && rowsFor(v2, id).tokens === 0, 10000, 50);
    assert.match(v2.proc.output, /auth\.token_unreadable[^\n]*owner=\d+/);
    const again = await tw.loginAs(v2, sim, 'keychanged', '', jar);
    assert.equal((await tw.api(v2, again, 'GET', '/api/me/following')).status, 200);
    await h.stopAll(v2);
  } finally {
    await collectTokens(sim);
    await h.stopAll(v);
  }
});

test('sev stops cleanly while logins, favorites and follows wait on Twitch', async () => {
  const v = await newSev(sim);
  try {
    await sim.user('favstreamer');
    const jar = await tw.loginAs(v, sim, 'stopper');
    await sim.user('stopper2');
    await sim.post('/sim/auth/next', { login: 'stopper2' });
    const jar2 = new tw.Jar();
    const first = await fetch(`${v.url}/auth/login`, { redirect: 'manual' });
    jar2.take(first);
    const back = new URL((await fetch(first.headers.get('location'), { redirect: 'manual' })).headers.get('location'));
    back.hostname = '127.0.0.1';
    await sim.post('/sim/faults', { status: 503, count: 1000 }); // every Helix call fails and is retried
    const pending = [
      tw.api(v, jar, 'PUT', '/api/me/favorite', { login: 'favstreamer' }).catch((e) => e),
      tw.api(v, jar, 'GET', '/api/me/following').catch((e) => e),
      finishLogin(v, jar2, back).catch((e) => e), // its profile lookup is a Helix call
    ];
    await h.waitFor('the calls to be retrying', () => (v.proc.output.match(/twitch\.retry/g) || []).length >= 3, 10000, 20);
    const { code, signal } = await v.stop();
    assert.equal(signal, null);
    assert.equal(code, 0, v.proc.output.slice(-2000));
    await Promise.all(pending); // each got an answer or a closed connection, none hangs
  } finally {
    await sim.call('DELETE', '/sim/faults');
    await collectTokens(sim);
    await h.stopAll(v);
  }
});

test('a favorite still being looked up when the account is deleted leaves nothing behind', async () => {
  await sim.user('favstreamer');
  const jar = await tw.loginAs(sev, sim, 'racydeleter');
  const id = (await sim.user('racydeleter')).id;
  try {
    await sim.post('/sim/faults', { status: 503, count: 2, path: '/helix/users' }); // two retries, then an answer
    const retries = (sev.proc.output.match(/twitch\.retry[^\n]*path=\/helix\/users/g) || []).length;
    const put = tw.api(sev, jar, 'PUT', '/api/me/favorite', { login: 'favstreamer' });
    await h.waitFor('the lookup to be retrying', () => (sev.proc.output.match(/twitch\.retry[^\n]*path=\/helix\/users/g) || []).length > retries, 10000, 10);
    const del = await call(sev, jar, 'DELETE', '/api/me');
    assert.equal(del.status, 204);
    const r = await put;
    assert.ok([200, 401, 404, 410].includes(r.status), `${r.status} ${JSON.stringify(r.body)}`);
  } finally {
    await sim.call('DELETE', '/sim/faults');
  }
  // whatever the PUT answered, the deleted account has no row anywhere afterwards
  await h.waitFor('no row of the user left', () => {
    const rows = rowsFor(sev, id);
    return rows.users + rows.sessions + rows.tokens + rows.favorites === 0;
  }, 10000, 50);
  assert.deepEqual(rowsFor(sev, id), { users: 0, sessions: 0, tokens: 0, favorites: 0 });
});

test('without Twitch credentials nobody can log in, and sev says so', async () => {
  const v = await h.startSev();
  sevs.push(v);
  try {
    const r = await fetch(`${v.url}/auth/login`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    const to = new URL(r.headers.get('location'), v.url);
    assert.equal(to.pathname, '/');
    assert.equal(to.searchParams.get('error'), 'no_twitch_app');
    assert.equal(to.searchParams.get('error_description'), null, 'the page words it, not the link');
    assert.ok(!cookieLine(r.headers.getSetCookie(), 'sev_state'));
    const cb = await fetch(`${v.url}/auth/callback?code=abc&state=${'a'.repeat(64)}`, { redirect: 'manual' });
    assert.equal(cb.status, 400);
    const me = await tw.api(v, null, 'GET', '/api/me');
    assert.equal(me.status, 401);
    assert.equal(typeof me.body.error, 'string');
    assert.equal((await call(v, null, 'POST', '/auth/logout')).status, 204);
    assert.match(v.proc.output, /auth\.disabled/);
    assert.ok(!fs.existsSync(path.join(v.dir, 'sev.key')), 'no key file without accounts');
  } finally {
    await h.stopAll(v);
  }
});

test('behind https (SEV_PUBLIC_URL https://…) the cookies are Secure and the redirect URI is https', async () => {
  const publicUrl = 'https://sev.example.test';
  const s = await newSim(['--redirect-uri', `${publicUrl}/auth/callback`]);
  const v = await newSev(s, { env: { SEV_PUBLIC_URL: publicUrl, TWITCH_EVENTSUB_TRANSPORT: 'websocket' } });
  try {
    await s.user('secureuser');
    await s.post('/sim/auth/next', { login: 'secureuser' });
    const jar = new tw.Jar();
    const first = await fetch(`${v.url}/auth/login`, { redirect: 'manual' });
    jar.take(first);
    const to = new URL(first.headers.get('location'));
    assert.equal(to.searchParams.get('redirect_uri'), `${publicUrl}/auth/callback`);
    assert.match(cookieLine(first.headers.getSetCookie(), 'sev_state'), /;\s*Secure/i);
    const back = new URL((await fetch(to, { redirect: 'manual' })).headers.get('location'));
    assert.equal(back.origin, publicUrl);
    const local = new URL(`${v.url}${back.pathname}${back.search}`); // what the TLS proxy forwards
    const r = await finishLogin(v, jar, local);
    assert.equal(r.status, 302, r.text);
    const line = cookieLine(r.setCookies, 'sev_session');
    assert.ok(line, r.setCookies.join(' | '));
    for (const attr of ['httponly', 'samesite=lax', 'path=/', 'secure']) assert.ok(line.toLowerCase().split(/;\s*/).includes(attr), `${attr} in ${line}`);
    const me = await call(v, jar, 'GET', '/api/me');
    assert.equal(me.status, 200);
    // the public origin may write; the same host over plain http may not
    const ok = await call(v, jar, 'DELETE', '/api/me/favorite', { headers: { origin: publicUrl } });
    assert.equal(ok.status, 204, ok.text);
    const downgraded = await call(v, jar, 'DELETE', '/api/me/favorite', { headers: { origin: 'http://sev.example.test' } });
    assert.equal(downgraded.status, 403);
  } finally {
    await collectTokens(s);
    await h.stopAll(v, s);
  }
});

// ---- 9. no token anywhere it must not be (runs last: it looks at the whole file) ----

test('no token issued by the simulator appears in any answer, cookie, log line or the database in plain text', async () => {
  const key = fs.statSync(path.join(sev.dir, 'sev.key'));
  assert.equal(key.mode & 0o777, 0o600, 'the key file is private');
  await h.stopAll(...sevs); // their logs are complete, their databases checkpointed
  for (const s of sims) if (s.proc.child.exitCode === null) await collectTokens(s);
  const tokens = [...issued.keys()];
  assert.ok(tokens.length >= 40, `tokens collected: ${tokens.length}`);
  assert.ok([...issued.values()].some((w) => /refresh_token\)/.test(w)), 'refreshed tokens are among them');
  assert.ok(answers.length >= 100, `answers seen: ${answers.length}`);
  for (const a of answers) {
    const text = [a.body, a.location ?? '', ...a.setCookies].join('\n');
    for (const t of tokens) assert.ok(!text.includes(t), `${issued.get(t)} in the answer to ${a.url}`);
  }
  // nor the other secrets of the flow: authorization codes, state nonces, session ids
  const secrets = new Map();
  for (const a of answers) {
    const code = new URL(a.url).searchParams.get('code');
    if (code && code.length >= 20) secrets.set(code, 'an authorization code');
    for (const line of a.setCookies) {
      const m = /^(sev_session|sev_state)=([^;]+)/.exec(line);
      if (m) secrets.set(m[2], `a ${m[1]} cookie`);
    }
  }
  assert.ok([...secrets.values()].filter((w) => w === 'a sev_session cookie').length >= 20);
  assert.ok([...secrets.values()].filter((w) => w === 'an authorization code').length >= 20);
  for (const v of sevs) {
    assert.ok(v.proc.output.length > 0);
    for (const t of tokens) assert.ok(!v.proc.output.includes(t), `${issued.get(t)} in sev's log ${v.proc.logFile}`);
    for (const [secret, what] of secrets) assert.ok(!v.proc.output.includes(secret), `${what} in sev's log ${v.proc.logFile}`);
    for (const f of fs.readdirSync(v.dir).filter((n) => n.startsWith('sev.db'))) {
      const bytes = fs.readFileSync(path.join(v.dir, f));
      for (const t of tokens) assert.ok(!bytes.includes(Buffer.from(t)), `${issued.get(t)} in plain text in ${f}`);
    }
  }
});
