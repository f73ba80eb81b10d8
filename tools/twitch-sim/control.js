'use strict';
// The control API under /sim/ (simulator only): users, moderators, approvals and revoked grants,
// streams, follows, triggered events, EventSub session control, faults, the clock, and views of
// subscriptions and deliveries for tests.

const { HttpError, Reply, readJson, sendJson, sendEmpty } = require('./http-util');
const { BUILDERS, OPTION_FIELDS, NOTICE_TYPES, NO_ACTOR, buildEvent } = require('./events');
const { ACTIVE } = require('./eventsub');
const { LOGIN_PATTERN } = require('./oauth');
const rand = require('./random');

const REVOKE_REASONS = ['authorization_revoked', 'user_removed', 'version_removed', 'moderator_removed', 'notification_failures_exceeded', 'chat_user_banned'];
const TRIGGER_FIELDS = new Set(['type', 'broadcaster', 'user', 'duplicate', ...Object.keys(OPTION_FIELDS)]);
const BITS_TYPES = ['cheer', 'power_up', 'combo'];
const TIERS = { 1: '1000', 2: '2000', 3: '3000', 1000: '1000', 2000: '2000', 3000: '3000' };

const fail = (status, message) => {
  throw new HttpError(status, message);
};

function checkType(name, value, kind) {
  const ok = {
    string: typeof value === 'string',
    integer: Number.isInteger(value) && value >= 0,
    boolean: typeof value === 'boolean',
    tier: TIERS[value] !== undefined,
  }[kind];
  if (!ok) fail(400, `"${name}" must be ${kind === 'tier' ? 'a tier: "1000", "2000" or "3000"' : `a${kind === 'integer' ? 'n' : ''} ${kind}`}`);
}

class Control {
  constructor(sim) {
    this.sim = sim;
    this.routes = [
      ['POST', /^\/users$/, (c) => this.createUser(c)],
      ['GET', /^\/users$/, () => ({ data: [...this.state.users.values()] })],
      ['DELETE', /^\/users\/([^/]+)$/, (c) => this.deleteUser(c)],
      ['POST', /^\/moderators$/, (c) => this.addModerator(c)],
      ['POST', /^\/auth\/next$/, (c) => this.nextApproval(c)],
      ['POST', /^\/auth\/revoke$/, (c) => this.revokeAuthorization(c)],
      ['POST', /^\/streams\/([^/]+)$/, (c) => this.setStream(c)],
      ['POST', /^\/follows$/, (c) => this.follow(c)],
      ['DELETE', /^\/follows$/, (c) => this.unfollow(c)],
      ['POST', /^\/trigger$/, (c) => this.trigger(c)],
      ['POST', /^\/eventsub\/reconnect$/, (c) => this.reconnect(c)],
      ['POST', /^\/eventsub\/close$/, (c) => this.closeSessions(c)],
      ['POST', /^\/eventsub\/revoke$/, (c) => this.revokeSubscription(c)],
      ['GET', /^\/eventsub\/sessions$/, () => ({ data: this.sim.ws.live().map((s) => this.sim.ws.summary(s)) })],
      ['GET', /^\/subscriptions$/, () => this.subscriptions()],
      ['GET', /^\/deliveries$/, (c) => this.deliveries(c)],
      ['GET', /^\/tokens$/, (c) => this.tokens(c)],
      ['POST', /^\/faults$/, (c) => this.addFault(c)],
      ['DELETE', /^\/faults$/, () => this.clearFaults()],
      ['POST', /^\/clock$/, (c) => this.setClock(c)],
      ['GET', /^\/clock$/, () => ({ offset_seconds: this.state.clockOffsetSeconds })],
    ];
  }

  get state() {
    return this.sim.state;
  }

  // path is relative to /sim, e.g. "/trigger".
  async handle(req, res, path, url) {
    const avatar = /^\/avatars\/([a-z0-9_]+)\.svg$/.exec(path);
    if (req.method === 'GET' && avatar) {
      this.avatar(res, avatar[1]);
      return;
    }
    for (const [method, pattern, handler] of this.routes) {
      const m = pattern.exec(path);
      if (!m || method !== req.method) continue;
      try {
        const body = req.method === 'GET' ? {} : await readJson(req);
        const result = await handler({ body, params: url.searchParams, match: m });
        if (result === null) sendEmpty(res, 204);
        else if (result instanceof Reply) sendJson(res, result.status, result.body);
        else sendJson(res, 200, result);
      } catch (e) {
        if (!(e instanceof HttpError)) throw e;
        sendJson(res, e.status, { error: e.message });
      }
      return;
    }
    sendJson(res, 404, { error: `no control route ${req.method} /sim${path}` });
  }

  user(login, field) {
    if (typeof login !== 'string' || login === '') fail(400, `"${field}" (a login) is required`);
    return this.state.userByLogin(login) ?? fail(404, `no user "${login}"`);
  }

  // --- users, moderators, authorization ----------------------------------------------------------
  createUser({ body }) {
    const { login, display_name: displayName, broadcaster_type: type = '', description = '' } = body;
    if (typeof login !== 'string' || !LOGIN_PATTERN.test(login)) fail(400, '"login" must be 1 to 25 lowercase letters, digits or underscores');
    if (this.state.userByLogin(login)) fail(409, `user "${login}" already exists`);
    if (!['', 'affiliate', 'partner'].includes(type)) fail(400, '"broadcaster_type" must be "", "affiliate" or "partner"');
    const user = this.state.createUser({ login, display_name: displayName, broadcaster_type: type, description });
    return new Reply(201, user);
  }

  deleteUser({ match }) {
    const user = this.user(decodeURIComponent(match[1]), 'login');
    const revoked = this.sim.eventsub.revokeForRemovedUser(user.id);
    this.state.deleteUser(user);
    return { id: user.id, revoked_subscriptions: revoked };
  }

  addModerator({ body }) {
    const user = this.user(body.user, 'user');
    const broadcaster = this.user(body.broadcaster, 'broadcaster');
    this.state.addModerator(user, broadcaster);
    return new Reply(201, { user_id: user.id, broadcaster_id: broadcaster.id });
  }

  nextApproval({ body }) {
    const approve = body.approve ?? true;
    checkType('approve', approve, 'boolean');
    if (approve) this.user(body.login, 'login');
    this.state.nextApproval = { login: body.login ?? null, approve };
    return this.state.nextApproval;
  }

  revokeAuthorization({ body }) {
    const user = this.user(body.login, 'login');
    const clientId = body.client_id ?? null;
    if (clientId !== null && !this.state.apps.has(clientId)) fail(404, `no client "${clientId}"`);
    const subscriptions = this.sim.eventsub.revokeForAuthorization(user.id, clientId);
    const tokens = this.state.revokeUserAuthorization(user.id, clientId);
    return { revoked_tokens: tokens, revoked_subscriptions: subscriptions };
  }

  // --- streams and follows --------------------------------------------------------------------
  setStream({ body, match }) {
    const b = this.user(decodeURIComponent(match[1]), 'login');
    const { live, title, game_name: gameName } = body;
    if (live !== undefined) checkType('live', live, 'boolean');
    if (title !== undefined) checkType('title', title, 'string');
    if (gameName !== undefined) checkType('game_name', gameName, 'string');
    const ch = this.state.channels.get(b.id);
    const ids = [];
    if ((title !== undefined && title !== ch.title) || (gameName !== undefined && gameName !== ch.game_name)) {
      ids.push(...this.emit('channel.update', { b, opt: { title, category_name: gameName } }));
    }
    const wasLive = this.state.streams.has(b.id);
    if (live === true && !wasLive) ids.push(...this.emit('stream.online', { b }));
    if (live === false && wasLive) ids.push(...this.emit('stream.offline', { b }));
    return { live: this.state.streams.has(b.id), delivered: ids.length, message_ids: ids };
  }

  follow({ body }) {
    const u = this.user(body.user, 'user');
    const b = this.user(body.broadcaster, 'broadcaster');
    const followedAt = this.state.follow(u, b);
    if (!followedAt) return { followed_at: this.state.followersOf(b.id).get(u.id), delivered: 0, message_ids: [] };
    const ids = this.emit('channel.follow', { b, u, followedAt });
    return new Reply(201, { followed_at: followedAt, delivered: ids.length, message_ids: ids });
  }

  unfollow({ body }) {
    const u = this.user(body.user, 'user');
    const b = this.user(body.broadcaster, 'broadcaster');
    if (!this.state.unfollow(u, b)) fail(404, `${u.login} does not follow ${b.login}`);
    return null;
  }

  // --- events ---------------------------------------------------------------------------------
  trigger({ body }) {
    for (const key of Object.keys(body)) if (!TRIGGER_FIELDS.has(key)) fail(400, `unknown field "${key}"`);
    if (typeof body.type !== 'string' || !BUILDERS[body.type]) fail(400, `"type" must be one of: ${Object.keys(BUILDERS).join(', ')}`);
    const b = this.user(body.broadcaster, 'broadcaster');
    const u = body.user === undefined ? null : this.user(body.user, 'user');
    const opt = {};
    for (const [key, kind] of Object.entries(OPTION_FIELDS)) {
      if (body[key] === undefined) continue;
      checkType(key, body[key], kind);
      opt[key] = kind === 'tier' ? TIERS[body[key]] : body[key];
    }
    if (opt.notice_type !== undefined && !NOTICE_TYPES.includes(opt.notice_type)) fail(400, `"notice_type" must be one of: ${NOTICE_TYPES.join(', ')}`);
    if (opt.bits_type !== undefined && !BITS_TYPES.includes(opt.bits_type)) fail(400, `"bits_type" must be one of: ${BITS_TYPES.join(', ')}`);
    const duplicate = body.duplicate ?? false;
    checkType('duplicate', duplicate, 'boolean');
    const ids = this.emit(body.type, { b, u, opt, duplicate });
    return { delivered: ids.length, message_ids: ids };
  }

  // Builds one event, applies what it says to the simulated state, and sends it to every matching
  // subscription. Returns the message ids. Used by the control routes and the demo.
  emit(type, { b, u = null, opt = {}, duplicate = false, followedAt }) {
    const actor = NO_ACTOR.has(type) ? null : u ?? this.state.randomViewer([b.id]);
    if (type === 'channel.update') this.applyChannelUpdate(b, opt);
    if (type === 'stream.online' && !this.state.streams.has(b.id)) this.state.goLive(b);
    if (type === 'stream.offline') this.state.streams.delete(b.id);
    const at = type === 'channel.follow' ? followedAt ?? this.state.follow(actor, b) ?? undefined : undefined;
    const event = buildEvent(type, { state: this.state, b, u: actor, opt, followedAt: at });
    return this.sim.eventsub.dispatch(type, event, { duplicate });
  }

  applyChannelUpdate(b, { title, category_name: category }) {
    const ch = this.state.channels.get(b.id);
    if (title !== undefined) ch.title = title;
    if (category !== undefined) {
      const known = rand.GAMES.find(([, name]) => name.toLowerCase() === category.toLowerCase());
      ch.game_id = known ? known[0] : String(100000 + [...category].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 900000, 7));
      ch.game_name = known ? known[1] : category;
    }
  }

  // --- EventSub control -----------------------------------------------------------------------
  sessionsFor(body) {
    if (body.session_id !== undefined) checkType('session_id', body.session_id, 'string');
    const sessions = this.sim.ws.live(body.session_id);
    if (body.session_id !== undefined && sessions.length === 0) fail(404, `no session "${body.session_id}"`);
    return sessions;
  }

  reconnect({ body }) {
    const sessions = this.sessionsFor(body).filter((s) => this.sim.ws.reconnect(s));
    return { sessions: sessions.length, session_ids: sessions.map((s) => s.id) };
  }

  closeSessions({ body }) {
    if (!Number.isInteger(body.code) || body.code < 4000 || body.code > 4007) fail(400, '"code" must be a close code from 4000 to 4007');
    const sessions = this.sessionsFor(body);
    for (const s of sessions) this.sim.ws.end(s, body.code);
    return { closed: sessions.length };
  }

  revokeSubscription({ body }) {
    const sub = this.state.subscriptions.get(body.subscription_id) ?? fail(404, `no subscription "${body.subscription_id}"`);
    const status = body.status ?? 'authorization_revoked';
    if (!REVOKE_REASONS.includes(status)) fail(400, `"status" must be one of: ${REVOKE_REASONS.join(', ')}`);
    if (!ACTIVE.has(sub.status)) fail(409, `subscription is ${sub.status}`);
    this.sim.eventsub.revoke(sub, status);
    return { id: sub.id, status };
  }

  subscriptions() {
    this.sim.eventsub.purgeDisabled();
    const data = [...this.state.subscriptions.values()].map((s) => ({
      ...this.sim.eventsub.json(s), client_id: s.clientId, user_id: s.userId,
    }));
    return { total: data.length, data };
  }

  deliveries({ params }) {
    const filters = ['subscription_id', 'message_id', 'transport', 'message_type'].filter((f) => params.has(f));
    const data = this.state.deliveries.filter((d) => filters.every((f) => d[f] === params.get(f)));
    return { total: data.length, data };
  }

  // Every access token issued (with its refresh token), oldest first, so tests can check that
  // none leaks and see refreshes and revocations. Filters: login, client_id, kind, grant.
  tokens({ params }) {
    const login = params.get('login');
    const user = login === null ? null : this.user(login, 'login');
    const now = Date.now();
    const data = [...this.state.tokens.entries()]
      .filter(([, t]) => (user === null || t.userId === user.id)
        && ['client_id', 'kind', 'grant'].every((f) => !params.has(f) || params.get(f) === { client_id: t.clientId, kind: t.kind, grant: t.grant }[f]))
      .sort(([, a], [, b]) => a.issuedAt - b.issuedAt)
      .map(([access, t]) => ({
        access_token: access, refresh_token: t.refresh, kind: t.kind, grant: t.grant, client_id: t.clientId,
        user_id: t.userId, login: t.userId === null ? null : this.state.users.get(t.userId)?.login ?? null,
        scopes: t.scopes, issued_at: new Date(t.issuedAt).toISOString(), expires_at: new Date(t.expiresAt).toISOString(),
        revoked: t.revoked, valid: this.state.validToken(access) !== null,
        refresh_valid: t.refresh === null ? null : this.state.refreshTokens.get(t.refresh)?.valid ?? false,
      }));
    return { total: data.length, data };
  }

  // --- faults and clock -----------------------------------------------------------------------
  addFault({ body }) {
    const { status, count = 1, path = null } = body;
    if (!Number.isInteger(status) || status < 400 || status > 599) fail(400, '"status" must be an HTTP error status (400 to 599)');
    if (!Number.isInteger(count) || count < 1) fail(400, '"count" must be a positive integer');
    if (path !== null && (typeof path !== 'string' || !path.startsWith('/helix/'))) fail(400, '"path" must start with /helix/');
    this.sim.helix.addFault(status, count, path);
    return new Reply(201, { status, count, path });
  }

  clearFaults() {
    this.sim.helix.faults = [];
    return null;
  }

  setClock({ body }) {
    if (typeof body.offset_seconds !== 'number' || !Number.isFinite(body.offset_seconds)) fail(400, '"offset_seconds" must be a number');
    this.state.clockOffsetSeconds = body.offset_seconds;
    this.sim.log.info('clock offset set', { offset_seconds: body.offset_seconds });
    return { offset_seconds: body.offset_seconds };
  }

  avatar(res, login) {
    const hue = [...login].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 0);
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300" viewBox="0 0 300 300">`
      + `<rect width="300" height="300" fill="hsl(${hue},55%,45%)"/><text x="150" y="195" font-size="160" text-anchor="middle" `
      + `font-family="sans-serif" fill="#fff">${login[0].toUpperCase()}</text></svg>`;
    res.writeHead(200, { 'Content-Type': 'image/svg+xml', 'Content-Length': Buffer.byteLength(svg), 'Cache-Control': 'max-age=86400' });
    res.end(svg);
  }
}

module.exports = { Control };
