'use strict';
// EventSub subscriptions: Create/Get/Delete (the Helix handlers), the rules Twitch enforces on
// them (token type per transport, authorization, conditions, costs and limits, 409/410), event
// dispatch to matching subscriptions and revocation.

const { TYPES, conditionMatches } = require('./types');
const rand = require('./random');

// A subscription still takes part (counts toward costs, can be a duplicate).
const ACTIVE = new Set(['enabled', 'webhook_callback_verification_pending']);
const ID_PATTERN = /^[0-9]+$/;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

class Reject extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const sameCondition = (a, b) => {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
};

class EventSub {
  constructor(sim) {
    this.sim = sim;
  }

  get state() {
    return this.sim.state;
  }

  // --- JSON shapes ----------------------------------------------------------------------------
  // "api": Helix answers (websocket transport with connected_at/disconnected_at);
  // "message": inside notifications and revocations (transport without timestamps).
  json(sub, shape = 'api') {
    let transport;
    if (sub.transport.method === 'webhook') {
      transport = { method: 'webhook', callback: sub.transport.callback };
    } else {
      transport = { method: 'websocket', session_id: sub.transport.session_id };
      if (shape === 'api') {
        transport.connected_at = sub.transport.connected_at;
        if (sub.transport.disconnected_at) transport.disconnected_at = sub.transport.disconnected_at;
      }
    }
    return {
      id: sub.id, status: sub.status, type: sub.type, version: sub.version, condition: sub.condition,
      created_at: sub.created_at, transport, cost: sub.cost,
    };
  }

  // --- ownership, costs ---------------------------------------------------------------------
  // Webhook subscriptions belong to the client; WebSocket ones to (client, user).
  ownedBy(sub, token) {
    if (sub.clientId !== token.clientId) return false;
    return token.kind === 'app' ? sub.transport.method === 'webhook' : sub.transport.method === 'websocket' && sub.userId === token.userId;
  }

  // The token's subscriptions as Get EventSub Subscriptions lists them (oldest first). Disabled
  // WebSocket subscriptions stay listed for --disabled-retention seconds, then are forgotten.
  visible(token) {
    this.purgeDisabled();
    return [...this.state.subscriptions.values()].filter((s) => this.ownedBy(s, token));
  }

  purgeDisabled() {
    const limit = Date.now() - this.sim.config.disabledRetention * 1000;
    for (const [id, sub] of this.state.subscriptions) {
      if (sub.disabledAtMs !== undefined && sub.disabledAtMs <= limit) this.state.subscriptions.delete(id);
    }
  }

  costs(token) {
    const subs = this.visible(token);
    const total = subs.filter((s) => ACTIVE.has(s.status)).reduce((n, s) => n + s.cost, 0);
    const max = token.kind === 'app' ? this.sim.config.webhookMaxCost : this.sim.config.wsMaxCost;
    return { count: subs.length, total, max };
  }

  // --- Create ------------------------------------------------------------------------------
  create(body, token) {
    if (typeof body.type !== 'string' || body.type === '') throw new Reject(400, 'The parameter "type" is required');
    if (typeof body.version !== 'string' || body.version === '') throw new Reject(400, 'The parameter "version" is required');
    const spec = TYPES[body.type];
    if (!spec) throw new Reject(400, `unsupported subscription type: ${body.type}`);
    if (spec.removed?.includes(body.version)) {
      throw new Reject(410, `version ${body.version} of subscription type ${body.type} has been removed`);
    }
    if (body.version !== spec.version && !spec.older?.includes(body.version)) throw new Reject(400, `unsupported version ${body.version} for subscription type ${body.type}`);
    const transport = this.checkTransport(body.transport, token);
    const session = transport.method === 'websocket'
      ? this.sim.ws.sessionForSubscription(transport.session_id, `${token.clientId}:${token.userId}`)
      : null;
    const condition = this.checkCondition(spec, body.condition);
    if (!this.authorized(spec, condition, token)) throw new Reject(403, 'subscription missing proper authorization');

    const mine = this.visible(token).filter((s) => ACTIVE.has(s.status));
    const sameTarget = (s) => (transport.method === 'webhook' ? s.transport.callback === transport.callback : s.transport.session_id === transport.session_id);
    const twins = mine.filter((s) => s.type === body.type && s.version === body.version && sameCondition(s.condition, condition));
    if (twins.some(sameTarget)) throw new Reject(409, 'subscription already exists');
    if (twins.length >= this.sim.config.maxSameCondition) {
      throw new Reject(429, 'exceeded the number of subscriptions with the same type and condition');
    }
    const cost = this.costOf(spec, condition, token);
    const { total, max } = this.costs(token);
    if (total + cost > max) throw new Reject(429, 'total cost exceeded');

    if (session) transport.connected_at = session.connectedAt;
    const sub = {
      id: rand.uuid(),
      status: transport.method === 'webhook' ? 'webhook_callback_verification_pending' : 'enabled',
      type: body.type, version: body.version, condition, created_at: this.state.timestamp(), transport, cost,
      clientId: token.clientId, userId: token.userId, failures: 0,
    };
    this.state.subscriptions.set(sub.id, sub);
    if (session) this.sim.ws.attach(session, sub);
    else setImmediate(() => this.sim.webhook.verify(sub));
    this.sim.log.info('subscription created', { id: sub.id, type: sub.type, transport: transport.method, status: sub.status });
    const after = this.costs(token);
    return { data: [this.json(sub)], total: after.count, total_cost: after.total, max_total_cost: after.max };
  }

  checkTransport(t, token) {
    if (!t || typeof t !== 'object') throw new Reject(400, 'The parameter "transport" is required');
    if (t.method === 'webhook') {
      if (token.kind !== 'app') throw new Reject(401, 'webhook transport requires an app access token');
      if (typeof t.callback !== 'string' || t.callback === '') throw new Reject(400, 'The parameter "transport.callback" is required');
      let url;
      try {
        url = new URL(t.callback);
      } catch {
        throw new Reject(400, 'transport.callback must be a valid URL');
      }
      const loopback = LOOPBACK_HOSTS.has(url.hostname);
      const httpsOn443 = url.protocol === 'https:' && (url.port === '' || url.port === '443');
      if (!httpsOn443 && !(loopback && (url.protocol === 'http:' || url.protocol === 'https:'))) {
        throw new Reject(400, 'transport.callback must use https on port 443');
      }
      if (typeof t.secret !== 'string' || t.secret.length < 10 || t.secret.length > 100 || !/^[\x20-\x7e]+$/.test(t.secret)) {
        throw new Reject(400, 'transport.secret must be an ASCII string of 10 to 100 characters');
      }
      return { method: 'webhook', callback: t.callback, secret: t.secret };
    }
    if (t.method === 'websocket') {
      if (token.kind !== 'user') throw new Reject(401, 'websocket transport requires a user access token');
      if (typeof t.session_id !== 'string' || t.session_id === '') throw new Reject(400, 'The parameter "transport.session_id" is required');
      return { method: 'websocket', session_id: t.session_id };
    }
    if (t.method === 'conduit') throw new Reject(400, 'conduit transport is not supported by twitch-sim');
    throw new Reject(400, 'transport.method must be webhook, websocket or conduit');
  }

  // Validates the condition against the type and returns the stored form: fields given as ""
  // for optional or alternative keys are dropped (clients sometimes echo them).
  checkCondition(spec, given) {
    if (!given || typeof given !== 'object' || Array.isArray(given)) throw new Reject(400, 'The parameter "condition" is required');
    const { required, optional = [], oneOf = [] } = spec.condition;
    const condition = {};
    for (const [key, value] of Object.entries(given)) {
      const known = required.includes(key) || optional.includes(key) || oneOf.includes(key);
      if (!known) throw new Reject(400, `condition field "${key}" is not valid for this subscription type`);
      if (typeof value !== 'string') throw new Reject(400, `condition field "${key}" must be a string`);
      if (value === '' && !required.includes(key)) continue;
      if (key !== 'reward_id') {
        if (!ID_PATTERN.test(value)) throw new Reject(400, `condition field "${key}" must be a user ID`);
        if (!this.state.users.has(value)) throw new Reject(400, `condition field "${key}" names a user that does not exist`);
      }
      condition[key] = value;
    }
    for (const key of required) {
      if (!condition[key]) throw new Reject(400, `condition field "${key}" is required`);
    }
    if (oneOf.length > 0 && oneOf.filter((k) => condition[k]).length !== 1) {
      throw new Reject(400, `condition must have exactly one of ${oneOf.join(', ')}`);
    }
    return condition;
  }

  // Whether the token may subscribe: for types needing authorization, the condition's user must
  // have granted the scope (webhook: to this client, through any token; websocket: on this very
  // token, whose user must be that user).
  authorized(spec, condition, token) {
    const auth = spec.auth;
    if (!auth) return true;
    const userId = condition[auth.user];
    const broadcasterId = condition.broadcaster_user_id;
    if (auth.moderator && !this.state.isModerator(userId, broadcasterId)) return false;
    const hasAny = (scopes, wanted) => wanted.some((s) => scopes.has(s));
    if (token.kind === 'user') return token.userId === userId && hasAny(new Set(token.scopes), auth.scopes);
    const granted = this.state.grantedScopes(token.clientId, userId);
    if (!granted || !hasAny(granted, auth.scopes)) return false;
    if (!auth.chat) return true;
    const botInChannel = this.state.isModerator(userId, broadcasterId) || (this.state.grantedScopes(token.clientId, broadcasterId)?.has('channel:bot') ?? false);
    return granted.has('user:bot') && botInChannel;
  }

  // 0 for types that need a user's authorization, and (unless --no-authorized-user-discount)
  // when a user named in the condition has authorized this client; 1 otherwise.
  costOf(spec, condition, token) {
    if (spec.auth) return 0;
    if (this.sim.config.noAuthorizedUserDiscount) return 1;
    const authorizedUser = Object.values(condition).some((id) => this.state.grantedScopes(token.clientId, id));
    return authorizedUser ? 0 : 1;
  }

  // --- Get and Delete ---------------------------------------------------------------------
  list(params, token) {
    const filters = ['status', 'type', 'user_id', 'subscription_id'].filter((f) => params.has(f));
    if (filters.length > 1) throw new Reject(400, 'only one of status, type, user_id and subscription_id may be given');
    let subs = this.visible(token);
    const [filter] = filters;
    const value = filter && params.get(filter);
    if (filter === 'status') subs = subs.filter((s) => s.status === value);
    if (filter === 'type') subs = subs.filter((s) => s.type === value);
    if (filter === 'subscription_id') subs = subs.filter((s) => s.id === value);
    if (filter === 'user_id') subs = subs.filter((s) => Object.values(s.condition).includes(value));
    return subs;
  }

  remove(id, token) {
    const sub = this.state.subscriptions.get(id);
    if (!sub || !this.ownedBy(sub, token)) throw new Reject(404, 'subscription not found');
    this.state.subscriptions.delete(id);
    if (sub.transport.method === 'websocket') this.sim.ws.detach(sub);
    this.sim.log.info('subscription deleted', { id, type: sub.type });
  }

  // --- events ---------------------------------------------------------------------------
  // Sends the event to every enabled subscription of the type whose condition matches.
  // Returns the message ids (one per subscription).
  dispatch(type, event, { duplicate = false } = {}) {
    const ids = [];
    for (const sub of this.state.subscriptions.values()) {
      if (sub.type !== type || sub.status !== 'enabled' || !conditionMatches(sub.condition, event)) continue;
      const messageId = rand.uuid();
      ids.push(messageId);
      const transport = sub.transport.method === 'webhook' ? this.sim.webhook : this.sim.ws;
      for (let i = 0; i < (duplicate ? 2 : 1); i++) transport.notify(sub, messageId, event);
    }
    return ids;
  }

  // Ends a subscription with a revocation reason and tells its receiver (once).
  revoke(sub, status) {
    const wasEnabled = sub.status === 'enabled';
    sub.status = status;
    this.sim.log.info('subscription revoked', { id: sub.id, type: sub.type, status });
    if (sub.transport.method === 'websocket') {
      if (wasEnabled) this.sim.ws.revocation(sub);
      this.sim.ws.detach(sub);
    } else if (wasEnabled) {
      this.sim.webhook.revocation(sub);
    }
  }

  // Marks WebSocket subscriptions disabled after their session ended.
  disable(subIds, status) {
    for (const id of subIds) {
      const sub = this.state.subscriptions.get(id);
      if (!sub || sub.status !== 'enabled') continue;
      sub.status = status;
      sub.transport.disconnected_at = this.state.timestamp();
      sub.disabledAtMs = Date.now();
    }
  }

  // A user revoked their authorization of a client (or of every client when clientId is null):
  // their WebSocket subscriptions and those that relied on their consent are revoked.
  revokeForAuthorization(userId, clientId) {
    return this.revokeWhere('authorization_revoked', (sub) => {
      if (clientId !== null && sub.clientId !== clientId) return false;
      const spec = TYPES[sub.type];
      return (sub.transport.method === 'websocket' && sub.userId === userId) || (spec.auth && sub.condition[spec.auth.user] === userId);
    });
  }

  // A user was deleted: every subscription naming them, or created with their token, is revoked.
  revokeForRemovedUser(userId) {
    return this.revokeWhere('user_removed', (sub) => sub.userId === userId || Object.values(sub.condition).includes(userId));
  }

  revokeWhere(status, predicate) {
    let n = 0;
    for (const sub of this.state.subscriptions.values()) {
      if (ACTIVE.has(sub.status) && predicate(sub)) {
        this.revoke(sub, status);
        n++;
      }
    }
    return n;
  }
}

module.exports = { EventSub, Reject, ACTIVE };
