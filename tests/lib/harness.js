'use strict';
// Shared helpers for SEV's Node tests: start build/sev and build/twitch-sim on free loopback
// ports with fresh temp directories, sign webhooks exactly as Twitch does, and wait on
// conditions with deadlines (never sleep-and-hope).
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require('ws');

const ROOT = path.resolve(__dirname, '..', '..');
const SEV_BIN = path.resolve(ROOT, process.env.SEV_BIN || 'build/sev');
const SIM_BIN = path.resolve(ROOT, 'build/twitch-sim');
const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

// The one wait of every Node test: polls fn (sync or async) every intervalMs until it returns a
// truthy value, which it resolves to; a throw from fn counts as "not yet" and its message is
// kept for the timeout error, which names `what`.
async function waitFor(what, fn, timeoutMs = 5000, intervalMs = 20) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ': ' + last.message : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// A child process whose output is kept (for assertions on logs) and echoed to a log file.
class Proc {
  constructor(name, bin, args, env) {
    this.name = name;
    this.output = ''; // stdout and stderr interleaved
    this.stderr = ''; // stderr alone
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    this.logFile = path.join(ARTIFACTS, `${name}-${process.pid}-${Date.now()}.log`);
    this.child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d) => {
      this.output += d.toString();
      fs.appendFileSync(this.logFile, d);
    };
    this.child.stdout.on('data', keep);
    this.child.stderr.on('data', (d) => {
      this.stderr += d.toString();
      keep(d);
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }
  async stop(signal = 'SIGTERM', timeoutMs = 10000) {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const r = await this.exited;
    clearTimeout(timer);
    this.checkSanitizers();
    return r;
  }
  // Under ASan/UBSan a report does not always crash the process (leaks are printed at exit):
  // any report fails the test that stopped the process.
  checkSanitizers() {
    const m = this.output.match(/ERROR: (AddressSanitizer|LeakSanitizer)[^\n]*|runtime error:[^\n]*/);
    if (m) throw new Error(`${this.name} sanitizer report (${this.logFile}): ${m[0]}`);
  }
}

// Starts sev with a fresh database. opts.env adds variables; returns {url, port, proc, dir, stop}.
async function startSev(opts = {}) {
  const port = opts.port || (await freePort());
  const dir = opts.dir || fs.mkdtempSync(path.join(os.tmpdir(), 'sev-test-'));
  const env = {
    SEV_LISTEN: `127.0.0.1:${port}`,
    SEV_PUBLIC_URL: `http://localhost:${port}`,
    SEV_DATABASE: `sqlite:${path.join(dir, 'sev.db')}`,
    SEV_KEY_FILE: path.join(dir, 'sev.key'),
    SEV_WEB_DIR: path.join(ROOT, 'web'),
    TWITCH_EVENTSUB_SECRET: opts.secret || 'test-secret-0123456789',
    TWITCH_CLIENT_ID: '',
    TWITCH_CLIENT_SECRET: '',
    ...(opts.env || {}),
  };
  // opts.wrap(bin, args) → [bin, args] runs sev under another command (e.g. a shell setting ulimit)
  const [bin, args] = opts.wrap ? opts.wrap(SEV_BIN, opts.args || []) : [SEV_BIN, opts.args || []];
  const proc = new Proc('sev', bin, args, env);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('sev to answer /healthz', async () => {
    if (proc.child.exitCode !== null) throw new Error(`sev exited ${proc.child.exitCode}: ${proc.output}`);
    const r = await fetch(url + '/healthz');
    return r.status === 200;
  }, 15000, 25);
  return { url, port, proc, dir, secret: env.TWITCH_EVENTSUB_SECRET, stop: (s) => proc.stop(s) };
}

// Stops every process even when one of them reports a sanitizer error (a child left running
// would keep the test runner alive); the first error is thrown after all have stopped.
async function stopAll(...procs) {
  let first = null;
  for (const p of procs) {
    try { await p?.stop(); } catch (e) { first = first || e; }
  }
  if (first) throw first;
}

function sign(secret, id, timestamp, body) {
  return 'sha256=' + crypto.createHmac('sha256', secret).update(id + timestamp + body).digest('hex');
}

// Posts a webhook message as Twitch does. Returns the fetch Response.
async function postWebhook(sev, { type = 'notification', body, id = crypto.randomUUID(), timestamp, secret, headers = {}, subType, subVersion } = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const ts = timestamp || new Date().toISOString();
  const parsed = typeof body === 'string' ? null : body;
  const h = {
    'Content-Type': 'application/json',
    'Twitch-Eventsub-Message-Id': id,
    'Twitch-Eventsub-Message-Retry': '0',
    'Twitch-Eventsub-Message-Type': type,
    'Twitch-Eventsub-Message-Signature': sign(secret || sev.secret, id, ts, raw),
    'Twitch-Eventsub-Message-Timestamp': ts,
    'Twitch-Eventsub-Subscription-Type': subType || parsed?.subscription?.type || 'channel.follow',
    'Twitch-Eventsub-Subscription-Version': subVersion || parsed?.subscription?.version || '2',
    ...headers,
  };
  for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
  return fetch(sev.url + '/eventsub/webhook', { method: 'POST', headers: h, body: raw });
}

// A notification body for a channel.follow of `viewer` to `streamer`.
function followBody(streamer, viewer, extra = {}) {
  return {
    subscription: {
      id: crypto.randomUUID(), status: 'enabled', type: 'channel.follow', version: '2', cost: 0,
      condition: { broadcaster_user_id: idFor(streamer), moderator_user_id: idFor(streamer) },
      transport: { method: 'webhook', callback: 'https://example.com/eventsub/webhook' },
      created_at: new Date().toISOString(),
    },
    event: {
      user_id: idFor(viewer), user_login: viewer, user_name: viewer[0].toUpperCase() + viewer.slice(1),
      broadcaster_user_id: idFor(streamer), broadcaster_user_login: streamer,
      broadcaster_user_name: streamer[0].toUpperCase() + streamer.slice(1),
      followed_at: new Date().toISOString(), ...extra,
    },
  };
}

function idFor(login) {
  let h = 7;
  for (const c of login) h = (h * 31 + c.charCodeAt(0)) % 1000000007;
  return String(100000 + h);
}

// A WebSocket client collecting every message; waits with deadlines.
class WsClient {
  constructor(url) {
    this.messages = [];
    this.ws = new WebSocket(url);
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.ws.on('message', (d) => this.messages.push(JSON.parse(d.toString())));
    this.opened = new Promise((resolve, reject) => {
      this.ws.on('open', resolve);
      this.ws.on('error', reject);
      this.ws.on('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }
  events() {
    return this.messages.filter((m) => m.kind === 'event').map((m) => m.event);
  }
  async waitForCount(n, timeoutMs = 5000) {
    await waitFor(`${n} WebSocket messages (have ${this.messages.length})`, () => this.messages.length >= n, timeoutMs);
    return this.events();
  }
  close() {
    this.ws.close();
  }
}

async function openWs(sev, streamer, since) {
  const c = new WsClient(`${sev.url.replace('http', 'ws')}/ws?streamer=${streamer}${since ? '&since=' + since : ''}`);
  await c.opened;
  return c;
}

// A WebSocket upgrade request whose answer is read as plain HTTP (for refused upgrades).
function rawUpgrade(sev, pathAndQuery) {
  const http = require('node:http');
  return new Promise((resolve, reject) => {
    const req = http.request(`${sev.url}${pathAndQuery}`, {
      headers: { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' },
    });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve({ status: 101, body: '' }); });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

function loadEventsubSamples() {
  const dir = path.join(ROOT, 'tests', 'data', 'eventsub');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))
    .sort().map((f) => ({ file: f, body: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) }));
}

module.exports = {
  stopAll,
  ROOT, SEV_BIN, SIM_BIN, ARTIFACTS, freePort, waitFor, Proc, startSev, sign, postWebhook,
  followBody, idFor, WsClient, openWs, rawUpgrade, loadEventsubSamples,
};
