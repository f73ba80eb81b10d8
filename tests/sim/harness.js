'use strict';
// Helpers for the simulator's fidelity tests: start build/twitch-sim on a free port, call its
// control API, OAuth and Helix with plain fetch, open EventSub WebSockets with `ws`, and run
// webhook receivers on loopback. Everything waits on conditions with deadlines.

const http = require('node:http');
const path = require('node:path');
const WebSocket = require('ws');
const { waitFor } = require('../lib/harness');
const tw = require('../lib/twitch');

const ROOT = path.resolve(__dirname, '../..');
const CLIENT_ID = 'simtestclientid0000000000000001';
const CLIENT_SECRET = 'simtestsecret00000000000000001';
const REDIRECT = 'http://localhost:8080/auth/callback';

// The simulator alone, with the fidelity tests' own app, wrapped in a client for its APIs
// (the process is started by tests/lib/twitch.js startSim, the one start for every suite).
async function startSimAlone(args = []) {
  return new Sim(await tw.startSim(args, { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }));
}

class Sim {
  constructor(started) {
    this.url = started.url;
    this.port = started.port;
    this.proc = started.proc;
  }

  // What the simulator wrote on stderr so far (its log lines).
  stderr() {
    return this.proc.stderr;
  }

  stop() {
    return this.proc.stop();
  }

  async request(method, p, { body, headers = {}, form } = {}) {
    const init = { method, headers: { ...headers }, redirect: 'manual' };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      init.headers['Content-Type'] ??= 'application/json';
    }
    if (form) {
      init.body = new URLSearchParams(form).toString();
      init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(this.url + p, init);
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  control(method, p, body) {
    return this.request(method, '/sim' + p, { body });
  }

  async createUser(login, extra = {}) {
    const r = await this.control('POST', '/users', { login, display_name: login[0].toUpperCase() + login.slice(1), ...extra });
    if (r.status !== 201) throw new Error(`create user ${login}: ${r.status} ${r.text}`);
    return r.json;
  }

  // The authorization-code flow approved as login (through POST /sim/auth/next). Returns the token response.
  async userToken(login, scopes = [], clientId = CLIENT_ID, secret = CLIENT_SECRET) {
    await this.control('POST', '/auth/next', { login });
    const q = new URLSearchParams({ client_id: clientId, redirect_uri: REDIRECT, response_type: 'code', scope: scopes.join(' '), state: 's' });
    const auth = await this.request('GET', `/oauth2/authorize?${q}`);
    const code = new URL(auth.headers.get('location')).searchParams.get('code');
    const r = await this.request('POST', '/oauth2/token', {
      form: { client_id: clientId, client_secret: secret, code, grant_type: 'authorization_code', redirect_uri: REDIRECT },
    });
    if (r.status !== 200) throw new Error(`token for ${login}: ${r.status} ${r.text}`);
    return r.json;
  }

  async appToken(clientId = CLIENT_ID, secret = CLIENT_SECRET) {
    const r = await this.request('POST', '/oauth2/token', { form: { client_id: clientId, client_secret: secret, grant_type: 'client_credentials' } });
    return r.json.access_token;
  }

  helix(token, method, p, body, clientId = CLIENT_ID) {
    return this.request(method, '/helix' + p, { body, headers: { Authorization: `Bearer ${token}`, 'Client-Id': clientId } });
  }

  subscribe(token, type, version, condition, transport) {
    return this.helix(token, 'POST', '/eventsub/subscriptions', { type, version, condition, transport });
  }

  async deliveries(query = {}) {
    return (await this.control('GET', `/deliveries?${new URLSearchParams(query)}`)).json.data;
  }

  async subscription(id) {
    return (await this.control('GET', '/subscriptions')).json.data.find((s) => s.id === id);
  }

  wsUrl(query = '') {
    return this.url.replace(/^http/, 'ws') + '/ws' + query;
  }
}

// An EventSub WebSocket client that records every message and the close code.
class WsClient {
  constructor(url, options = {}) {
    this.messages = [];
    this.closed = null; // {code, reason}
    this.sock = new WebSocket(url, options);
    this.sock.on('message', (data) => this.messages.push(JSON.parse(data.toString())));
    this.sock.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    this.sock.on('error', () => {});
  }

  static async connect(url, options) {
    const c = new WsClient(url, options);
    c.welcome = await c.next('session_welcome');
    c.sessionId = c.welcome.payload.session.id;
    return c;
  }

  // The first message of the type (and matching pred) not yet taken.
  async next(type, pred = () => true, timeout = 5000) {
    this.taken ??= new Set();
    return waitFor(`a ${type} message`, () => this.messages.find((m) => !this.taken.has(m) && m.metadata.message_type === type && pred(m) && this.taken.add(m)), timeout);
  }

  of(type) {
    return this.messages.filter((m) => m.metadata.message_type === type);
  }

  async waitClosed(timeout = 5000) {
    return waitFor('the socket to close', () => this.closed, timeout);
  }

  close() {
    this.sock.close();
  }
}

// A webhook receiver on loopback. handler(req, rawBody, res) answers; by default it echoes
// challenges as text/plain and answers 204 to the rest. Every request is recorded.
async function startReceiver(handler = defaultReceiver) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      requests.push({ headers: req.headers, raw, body: JSON.parse(raw), at: Date.now() });
      handler(req, raw, res);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/eventsub/webhook`;
  return {
    url, requests, server,
    of: (type) => requests.filter((r) => r.headers['twitch-eventsub-message-type'] === type),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

function defaultReceiver(req, raw, res) {
  if (req.headers['twitch-eventsub-message-type'] === 'webhook_callback_verification') {
    const { challenge } = JSON.parse(raw);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(challenge) });
    res.end(challenge);
  } else {
    res.writeHead(204);
    res.end();
  }
}

module.exports = { startSimAlone, startReceiver, defaultReceiver, waitFor, WsClient, CLIENT_ID, CLIENT_SECRET, REDIRECT, ROOT };
