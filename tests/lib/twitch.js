'use strict';
// SEV beside the Twitch simulator: start build/twitch-sim on a free port, start build/sev
// pointed at it, drive the simulator's control API, and log a viewer in through the real
// OAuth round trip with a small cookie jar (no browser).
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');

const CLIENT_ID = 'sev-test-client';
const CLIENT_SECRET = 'sev-test-client-secret';

// The one start of the simulator for every Node suite: build/twitch-sim (or node
// tools/twitch-sim/main.js when the launcher is not built) on a free loopback port with the
// app opts.clientId / opts.clientSecret (SEV's test app by default) and the extra args;
// resolves, once it printed its URL, to {url, port, proc, stop, call, post, get, …}.
async function startSim(args = [], { clientId = CLIENT_ID, clientSecret = CLIENT_SECRET } = {}) {
  const port = await h.freePort();
  const [bin, pre] = fs.existsSync(h.SIM_BIN) ? [h.SIM_BIN, []] : [process.execPath, [path.join(h.ROOT, 'tools/twitch-sim/main.js')]];
  const proc = new h.Proc('twitch-sim', bin, [...pre, '--listen', `127.0.0.1:${port}`, '--client-id', clientId,
    '--client-secret', clientSecret, ...args], {});
  const url = await h.waitFor('twitch-sim to start', () => {
    if (proc.child.exitCode !== null) throw new Error(`twitch-sim exited ${proc.child.exitCode}: ${proc.output}`);
    return /listening on (http:\/\/\S+)/.exec(proc.output)?.[1];
  }, 15000);
  const sim = {
    url, port, proc,
    stop: () => proc.stop(),
    async call(method, path, body) {
      const r = await fetch(url + path, {
        method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined,
      });
      const text = await r.text();
      let json = null;
      try { json = text ? JSON.parse(text) : null; } catch { json = text; }
      if (r.status >= 400) throw new Error(`sim ${method} ${path}: ${r.status} ${text}`);
      return json;
    },
    post: (path, body) => sim.call('POST', path, body || {}),
    get: (path) => sim.call('GET', path),
    async user(login) {
      const all = await sim.get('/sim/users');
      const list = Array.isArray(all) ? all : all.data || all.users || [];
      const found = list.find((u) => u.login === login);
      if (found) return found;
      return sim.post('/sim/users', { login, display_name: login[0].toUpperCase() + login.slice(1) });
    },
    async subscriptions() {
      const r = await sim.get('/sim/subscriptions');
      return Array.isArray(r) ? r : r.data || r.subscriptions || [];
    },
    async sessions() {
      const r = await sim.get('/sim/eventsub/sessions');
      return Array.isArray(r) ? r : r.data || r.sessions || [];
    },
  };
  return sim;
}

// sev with every Twitch URL pointing at the simulator.
function sevEnvFor(sim, extra = {}) {
  return {
    TWITCH_CLIENT_ID: CLIENT_ID,
    TWITCH_CLIENT_SECRET: CLIENT_SECRET,
    TWITCH_AUTH_URL: `${sim.url}/oauth2`,
    TWITCH_API_URL: `${sim.url}/helix`,
    TWITCH_EVENTSUB_WS_URL: `ws://127.0.0.1:${sim.port}/ws`,
    TWITCH_PLAYER_URL: `${sim.url}/embed/player`,
    TWITCH_CHAT_URL: `${sim.url}/embed/`,
    ...extra,
  };
}

async function startSevWithSim(sim, opts = {}) {
  return h.startSev({ ...opts, env: sevEnvFor(sim, opts.env || {}) });
}

// A tiny cookie jar: name -> value, from Set-Cookie headers.
class Jar {
  constructor() { this.cookies = new Map(); }
  take(res) {
    for (const line of res.headers.getSetCookie ? res.headers.getSetCookie() : []) {
      const [pair, ...attrs] = line.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name); else this.cookies.set(name, value);
    }
  }
  header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
}

// Follows redirects by hand between sev and the simulator, carrying sev's cookies. With a
// trace array, each hop is appended: {url, status, location, setCookies (raw lines)}.
async function browse(jar, url, sevUrl, maxHops = 6, trace = null) {
  let res;
  for (let hop = 0; hop < maxHops; hop++) {
    const toSev = url.startsWith(sevUrl) || url.startsWith(sevUrl.replace('127.0.0.1', 'localhost'));
    const target = toSev ? url.replace('http://localhost', 'http://127.0.0.1') : url;
    res = await fetch(target, { redirect: 'manual', headers: toSev && jar.cookies.size ? { cookie: jar.header() } : {} });
    if (trace) trace.push({ url: target, status: res.status, location: res.headers.get('location'), setCookies: res.headers.getSetCookie() });
    if (toSev) jar.take(res);
    const loc = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !loc) return res;
    url = new URL(loc, target).toString();
  }
  return res;
}

// Logs `login` into sev through the simulator's OAuth; returns the cookie jar (`jar` when
// given: a second login from the same browser). With a trace array, see browse().
async function loginAs(sev, sim, login, query = '', jar = new Jar(), trace = null) {
  await sim.user(login);
  await sim.post('/sim/auth/next', { login });
  const res = await browse(jar, `${sev.url}/auth/login${query}`, sev.url, 6, trace);
  if (res.status >= 400) throw new Error(`login as ${login} ended with ${res.status}: ${await res.text()}`);
  return jar;
}

async function api(sev, jar, method, path, body) {
  const headers = {};
  if (jar) headers.cookie = jar.header();
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(sev.url + path, { method, headers, body: body !== undefined ? JSON.stringify(body) : undefined });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  return { status: r.status, body: json };
}

module.exports = { CLIENT_ID, CLIENT_SECRET, startSim, sevEnvFor, startSevWithSim, Jar, browse, loginAs, api };
