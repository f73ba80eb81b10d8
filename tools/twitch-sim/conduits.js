'use strict';
// EventSub conduits: Create/Get/Update/Delete Conduits and Get/Update Conduit Shards (app
// token only), shard statuses as their transports change, and the delivery of conduit
// subscriptions' messages to one enabled shard (round robin; when the chosen shard cannot take
// it, one other shard is tried, as Twitch does).

const rand = require('./random');
const { Reject } = require('./eventsub');

const SHARD_PAGE = 100;
// A shard whose transport was never set: Twitch's reference lists no status for it; the
// simulator shows it as a WebSocket shard that is not connected.
const UNSET = 'websocket_disconnected';

const encodeCursor = (offset) => Buffer.from(JSON.stringify({ s: offset })).toString('base64');
function decodeCursor(cursor) {
  try {
    const offset = JSON.parse(Buffer.from(cursor, 'base64').toString('utf8')).s;
    if (Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // fall through
  }
  throw new Reject(400, 'The parameter "after" was malformed');
}

function requireApp(token) {
  if (token.kind !== 'app') throw new Reject(401, 'Authorization header required with an app access token');
}

function shardCount(value, max) {
  if (!Number.isInteger(value)) throw new Reject(400, 'The parameter "shard_count" is required and must be an integer');
  if (value < 1 || value > max) throw new Reject(400, `The parameter "shard_count" must be between 1 and ${max}`);
  return value;
}

class Conduits {
  constructor(sim) {
    this.sim = sim;
    this.conduits = new Map(); // id -> {id, clientId, shards: [{id, status, transport, next}], next}
  }

  get config() {
    return this.sim.config;
  }

  // --- JSON shapes ----------------------------------------------------------------------------
  json(c) {
    return { id: c.id, shard_count: c.shards.length };
  }

  shardJson(shard) {
    const t = shard.transport;
    let transport = {};
    if (t?.method === 'webhook') transport = { method: 'webhook', callback: t.callback };
    if (t?.method === 'websocket') {
      transport = { method: 'websocket', session_id: t.session_id, connected_at: t.connected_at };
      if (t.disconnected_at) transport.disconnected_at = t.disconnected_at;
    }
    return { id: shard.id, status: shard.status, transport };
  }

  newShard(i) {
    return { id: String(i), status: UNSET, transport: null };
  }

  // The conduit with this id owned by the token's client, or a 404.
  owned(id, token) {
    if (typeof id !== 'string' || id === '') throw new Reject(400, 'The parameter "conduit_id" is required');
    const c = this.conduits.get(id);
    if (!c || c.clientId !== token.clientId) throw new Reject(404, 'conduit not found');
    return c;
  }

  // --- Helix handlers -------------------------------------------------------------------------
  list(token) {
    requireApp(token);
    return { data: [...this.conduits.values()].filter((c) => c.clientId === token.clientId).map((c) => this.json(c)) };
  }

  create(body, token) {
    requireApp(token);
    const n = shardCount(body.shard_count, this.config.maxConduitShards);
    const mine = [...this.conduits.values()].filter((c) => c.clientId === token.clientId).length;
    if (mine >= this.config.maxConduits) throw new Reject(429, 'client has reached the maximum number of conduits');
    const c = { id: rand.uuid(), clientId: token.clientId, shards: [], next: 0 };
    for (let i = 0; i < n; i++) c.shards.push(this.newShard(i));
    this.conduits.set(c.id, c);
    this.sim.log.info('conduit created', { id: c.id, shard_count: n });
    return { data: [this.json(c)] };
  }

  // Shards at or above the new count are disabled (their sessions are released).
  update(body, token) {
    requireApp(token);
    if (typeof body.id !== 'string' || body.id === '') throw new Reject(400, 'The parameter "id" is required');
    const n = shardCount(body.shard_count, this.config.maxConduitShards);
    const c = this.conduits.get(body.id);
    if (!c || c.clientId !== token.clientId) throw new Reject(404, 'conduit not found');
    for (const shard of c.shards.slice(n)) this.release(shard);
    c.shards.length = Math.min(c.shards.length, n);
    for (let i = c.shards.length; i < n; i++) c.shards.push(this.newShard(i));
    return { data: [this.json(c)] };
  }

  // The conduit goes with its subscriptions.
  remove(id, token) {
    requireApp(token);
    if (!id) throw new Reject(400, 'The parameter "id" is required');
    const c = this.conduits.get(id);
    if (!c || c.clientId !== token.clientId) throw new Reject(404, 'conduit not found');
    for (const shard of c.shards) this.release(shard);
    this.conduits.delete(id);
    for (const [subId, sub] of this.sim.state.subscriptions) {
      if (sub.transport.method === 'conduit' && sub.transport.conduit_id === id) this.sim.state.subscriptions.delete(subId);
    }
    this.sim.log.info('conduit deleted', { id });
  }

  shards(params, token) {
    requireApp(token);
    const c = this.owned(params.get('conduit_id'), token);
    let shards = c.shards;
    if (params.has('status')) shards = shards.filter((s) => s.status === params.get('status'));
    const start = params.has('after') ? decodeCursor(params.get('after')) : 0;
    const data = shards.slice(start, start + SHARD_PAGE).map((s) => this.shardJson(s));
    const pagination = start + SHARD_PAGE < shards.length ? { cursor: encodeCursor(start + SHARD_PAGE) } : {};
    return { data, pagination };
  }

  // Each shard is checked on its own: the ones that fail are listed in "errors" (the request as
  // a whole is still 202).
  updateShards(body, token) {
    requireApp(token);
    if (typeof body.conduit_id !== 'string' || body.conduit_id === '') throw new Reject(400, 'The parameter "conduit_id" is required');
    if (!Array.isArray(body.shards) || body.shards.length === 0) throw new Reject(400, 'The parameter "shards" is required');
    const c = this.owned(body.conduit_id, token);
    const data = [];
    const errors = [];
    for (const given of body.shards) {
      const id = given && typeof given === 'object' ? given.id : undefined;
      try {
        if (typeof id !== 'string' || !/^[0-9]+$/.test(id)) throw new Reject(400, 'The shard id is invalid');
        const shard = c.shards[Number(id)];
        if (!shard) throw new Reject(400, "The shard id is outside the conduit's range");
        this.assign(c, shard, given.transport);
        data.push(this.shardJson(shard));
      } catch (e) {
        if (!(e instanceof Reject)) throw e;
        errors.push({ id: typeof id === 'string' ? id : '', message: e.message, code: 'invalid_parameter' });
      }
    }
    return { data, errors };
  }

  assign(c, shard, t) {
    if (!t || typeof t !== 'object') throw new Reject(400, 'The parameter "transport" is required');
    if (t.method === 'websocket') {
      if (typeof t.session_id !== 'string' || t.session_id === '') throw new Reject(400, 'The parameter "transport.session_id" is required');
      const session = this.sim.ws.sessionForShard(t.session_id, { conduitId: c.id, shardId: shard.id });
      this.release(shard);
      shard.transport = { method: 'websocket', session_id: session.id, connected_at: session.connectedAt };
      shard.status = 'enabled';
      this.sim.ws.attachShard(session, { conduitId: c.id, shardId: shard.id });
    } else if (t.method === 'webhook') {
      const checked = this.sim.eventsub.checkTransport(t, { kind: 'app' });
      this.release(shard);
      shard.transport = checked;
      shard.status = 'webhook_callback_verification_pending';
      setImmediate(() => this.verify(c, shard, checked));
    } else {
      throw new Reject(400, 'The parameter "transport.method" must be webhook or websocket');
    }
    this.sim.log.info('conduit shard updated', { conduit_id: c.id, shard_id: shard.id, method: t.method, status: shard.status });
  }

  // Lets go of a shard's WebSocket session (when the shard moves elsewhere or goes away).
  release(shard) {
    if (shard.transport?.method !== 'websocket') return;
    const session = this.sim.ws.sessions.get(shard.transport.session_id);
    if (session && session.shard?.shardId === shard.id) session.shard = null;
  }

  async verify(c, shard, transport) {
    const challenge = rand.token(8) + '-' + rand.token(8) + '-' + rand.token(8);
    const target = { id: `conduit:${c.id}:${shard.id}`, type: 'conduit.shard', version: '1', transport };
    const message = this.sim.webhook.message('webhook_callback_verification', { challenge });
    const result = await this.sim.webhook.post(target, message);
    const ok = result.status === 200 && result.body === challenge
      && (this.config.lenientChallenge || /^text\/plain\b/i.test(result.contentType ?? ''));
    this.sim.webhook.record(target, message, result, { outcome: ok ? 'verified' : 'verification_failed' });
    if (shard.transport !== transport) return; // moved meanwhile
    shard.status = ok ? 'enabled' : 'webhook_callback_verification_failed';
  }

  // --- sessions ending ----------------------------------------------------------------------
  // A shard's WebSocket session ended: the shard takes the session's final status.
  sessionEnded(ref, status) {
    const shard = this.conduits.get(ref.conduitId)?.shards[Number(ref.shardId)];
    if (!shard || shard.transport?.method !== 'websocket') return;
    shard.status = status;
    shard.transport.disconnected_at = this.sim.state.timestamp();
    this.sim.log.info('conduit shard disabled', { conduit_id: ref.conduitId, shard_id: ref.shardId, status });
  }

  // A reconnect hand-over moved the shard's session to a new id.
  sessionMoved(ref, sessionId) {
    const shard = this.conduits.get(ref.conduitId)?.shards[Number(ref.shardId)];
    if (shard?.transport?.method === 'websocket') shard.transport.session_id = sessionId;
  }

  // --- delivery -------------------------------------------------------------------------------
  // The next enabled shards of the conduit in round-robin order (at most two: the chosen one
  // and the one other Twitch retries with).
  pick(c) {
    const out = [];
    const n = c.shards.length;
    for (let k = 0; k < n && out.length < 2; k++) {
      const shard = c.shards[(c.next + k) % n];
      if (shard.status === 'enabled') out.push(shard);
    }
    if (out.length > 0) c.next = (Number(out[0].id) + 1) % n;
    return out;
  }

  // Sends one message of a conduit subscription. kind: 'notification' or 'revocation'.
  async deliver(sub, kind, messageId, event) {
    const c = this.conduits.get(sub.transport.conduit_id);
    const shards = c ? this.pick(c) : [];
    const subscription = this.sim.eventsub.json(sub, 'message');
    const payload = kind === 'notification' ? { subscription, event } : { subscription };
    if (shards.length === 0) {
      this.sim.state.recordDelivery({
        transport: 'conduit', target: sub.transport.conduit_id, subscription_id: sub.id, subscription_type: sub.type,
        message_id: messageId, message_type: kind, outcome: 'dropped',
      });
      return;
    }
    for (const shard of shards) {
      const ok = shard.transport.method === 'websocket'
        ? this.sendWs(c, shard, sub, kind, messageId, payload)
        : await this.sendWebhook(c, shard, sub, kind, messageId, payload);
      if (ok) return;
    }
  }

  sendWs(c, shard, sub, kind, messageId, payload) {
    const ws = this.sim.ws;
    const session = ws.sessions.get(shard.transport.session_id);
    const msg = ws.message(kind, payload, sub);
    msg.metadata.message_id = messageId;
    const outcome = session ? ws.send(session, msg) : 'dropped';
    this.sim.state.recordDelivery({
      transport: 'conduit', target: c.id, shard_id: shard.id, session_id: shard.transport.session_id, subscription_id: sub.id,
      subscription_type: sub.type, message_id: messageId, message_type: kind, outcome,
    });
    return outcome !== 'dropped';
  }

  async sendWebhook(c, shard, sub, kind, messageId, payload) {
    const webhook = this.sim.webhook;
    const target = { ...sub, transport: shard.transport };
    const message = webhook.message(kind, payload, messageId);
    const result = await webhook.post(target, message);
    const ok = result.status !== null && result.status >= 200 && result.status < 300;
    webhook.record(target, message, result, { outcome: ok ? 'delivered' : 'failed', conduit_id: c.id, shard_id: shard.id });
    return ok;
  }
}

module.exports = { Conduits };
