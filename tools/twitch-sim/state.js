'use strict';
// Everything the simulated Twitch knows, in memory: apps, users, channels, streams, follows,
// moderators, OAuth grants and tokens, EventSub subscriptions, the delivery log and the clock.

const rand = require('./random');

const DELIVERY_LOG_CAP = 5000;
const VIEWER_POOL = 200;

class State {
  constructor(config) {
    this.config = config;
    this.apps = new Map(); // client_id -> {clientId, secret}
    this.users = new Map(); // id -> user
    this.logins = new Map(); // login -> id
    this.channels = new Map(); // user id -> channel information
    this.streams = new Map(); // user id -> live stream (absent when offline)
    this.follows = new Map(); // broadcaster id -> Map(user id -> followed_at)
    this.moderators = new Map(); // broadcaster id -> Set(user id)
    this.grants = new Map(); // `${clientId}:${userId}` -> Set(scope)
    this.tokens = new Map(); // access token -> {kind, grant, clientId, userId, scopes, expiresAt, revoked, refresh, issuedAt}
    this.refreshTokens = new Map(); // refresh token -> {clientId, userId, scopes, valid}
    this.codes = new Map(); // authorization code -> {clientId, userId, scopes, redirectUri, expiresAt}
    this.subscriptions = new Map(); // id -> subscription (see eventsub.js)
    this.activities = new Map(); // `${family}:${broadcasterId}` -> running hype train / poll / prediction
    this.deliveries = [];
    this.nextApproval = null; // {login, approve} set by POST /sim/auth/next
    this.clockOffsetSeconds = 0;
    this.nextUserId = 100000000 + rand.int(0, 899999999);
    this.nextStreamId = 40000000000 + rand.int(0, 999999999);
    this.baseUrl = '';
  }

  // --- clock -------------------------------------------------------------------------------
  nowMs() {
    return Date.now() + this.clockOffsetSeconds * 1000;
  }

  // RFC 3339 UTC with nanoseconds, as EventSub writes them (the sub-millisecond digits come
  // from the high-resolution clock).
  timestamp(ms = this.nowMs()) {
    const iso = new Date(Math.floor(ms)).toISOString(); // 2023-07-19T14:56:51.634Z
    const extra = String(process.hrtime.bigint() % 1000000n).padStart(6, '0');
    return iso.slice(0, -1) + extra + 'Z';
  }

  // --- apps and users ------------------------------------------------------------------------
  addApp(clientId, secret) {
    this.apps.set(clientId, { clientId, secret });
  }

  userByLogin(login) {
    const id = this.logins.get(String(login).toLowerCase());
    return id === undefined ? null : this.users.get(id);
  }

  createUser({ login, display_name, broadcaster_type = '', description = '' }) {
    const id = String(this.nextUserId++);
    const user = {
      id,
      login,
      display_name: display_name || login,
      type: '',
      broadcaster_type,
      description,
      profile_image_url: `${this.baseUrl}/sim/avatars/${login}.svg`,
      offline_image_url: '',
      view_count: 0,
      email: `${login}@users.twitch-sim.invalid`,
      created_at: new Date(Date.now() - rand.int(30, 3000) * 86400000).toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    this.users.set(id, user);
    this.logins.set(login, id);
    const [gameId, gameName] = rand.pick(rand.GAMES);
    this.channels.set(id, {
      title: rand.pick(rand.TITLES), game_id: gameId, game_name: gameName, language: 'en',
      tags: ['English'], delay: 0, content_classification_labels: [], is_branded_content: false,
    });
    return user;
  }

  deleteUser(user) {
    this.users.delete(user.id);
    this.logins.delete(user.login);
    this.channels.delete(user.id);
    this.streams.delete(user.id);
    this.follows.delete(user.id);
    this.moderators.delete(user.id);
    for (const followers of this.follows.values()) followers.delete(user.id);
    for (const mods of this.moderators.values()) mods.delete(user.id);
    this.revokeUserAuthorization(user.id, null);
  }

  // A random existing user other than those excluded; now and then (while there are fewer than
  // VIEWER_POOL users) a new viewer, so chat has fresh names without growing without bound.
  randomViewer(excludeIds = []) {
    const candidates = [...this.users.values()].filter((u) => !excludeIds.includes(u.id));
    const grow = this.users.size < VIEWER_POOL && rand.chance(0.2);
    if (candidates.length > 0 && !grow) return rand.pick(candidates);
    let login = rand.pick(rand.VIEWER_NAMES);
    while (this.logins.has(login)) login = rand.pick(rand.VIEWER_NAMES) + rand.int(1, 9999);
    return this.createUser({ login, display_name: login });
  }

  // --- streams -----------------------------------------------------------------------------
  goLive(user, startedMs = this.nowMs()) {
    const stream = {
      id: String(this.nextStreamId++),
      started_at: new Date(startedMs).toISOString().replace(/\.\d+Z$/, 'Z'), // Helix: whole seconds
      startedMs, // EventSub's stream.online says the same moment with nanoseconds
      viewer_count: rand.int(5, 5000),
      type: 'live',
    };
    this.streams.set(user.id, stream);
    return stream;
  }

  // --- follows and moderators --------------------------------------------------------------
  // Records a follow; returns its time as EventSub writes it (nanoseconds), or null when the
  // user already follows.
  follow(user, broadcaster, at = new Date(this.nowMs())) {
    if (!this.follows.has(broadcaster.id)) this.follows.set(broadcaster.id, new Map());
    const followers = this.follows.get(broadcaster.id);
    if (followers.has(user.id)) return null;
    // Helix lists follows in whole seconds; EventSub's channel.follow tells the same moment
    // with nanoseconds (returned here, for the event).
    followers.set(user.id, at.toISOString().replace(/\.\d+Z$/, 'Z'));
    return this.timestamp(at.getTime());
  }

  unfollow(user, broadcaster) {
    return this.follows.get(broadcaster.id)?.delete(user.id) ?? false;
  }

  followersOf(broadcasterId) {
    return this.follows.get(broadcasterId) ?? new Map();
  }

  // [{broadcasterId, followedAt}] for a user.
  followedBy(userId) {
    const out = [];
    for (const [broadcasterId, followers] of this.follows) {
      if (followers.has(userId)) out.push({ broadcasterId, followedAt: followers.get(userId) });
    }
    return out;
  }

  addModerator(user, broadcaster) {
    if (!this.moderators.has(broadcaster.id)) this.moderators.set(broadcaster.id, new Set());
    this.moderators.get(broadcaster.id).add(user.id);
  }

  // The broadcaster counts as a moderator of their own channel.
  isModerator(userId, broadcasterId) {
    return userId === broadcasterId || (this.moderators.get(broadcasterId)?.has(userId) ?? false);
  }

  // --- OAuth -------------------------------------------------------------------------------
  grant(clientId, userId, scopes) {
    const key = `${clientId}:${userId}`;
    if (!this.grants.has(key)) this.grants.set(key, new Set());
    for (const s of scopes) this.grants.get(key).add(s);
  }

  grantedScopes(clientId, userId) {
    return this.grants.get(`${clientId}:${userId}`) ?? null;
  }

  // grant: how the token was obtained ('authorization_code' or 'refresh_token'), for GET /sim/tokens.
  issueUserToken(clientId, userId, scopes, grant = 'authorization_code') {
    const access = rand.token(30);
    // Like Twitch's (digest 1.5): refresh tokens may contain '%' and '=', so clients must URL-encode them.
    const refresh = `${rand.token(40)}%${rand.token(8)}=`;
    const expiresIn = Math.round(this.config.tokenLifetime);
    this.tokens.set(access, {
      kind: 'user', grant, clientId, userId, scopes: [...scopes], expiresAt: Date.now() + expiresIn * 1000, revoked: false,
      refresh, issuedAt: Date.now(),
    });
    this.refreshTokens.set(refresh, { clientId, userId, scopes: [...scopes], valid: true });
    return { access, refresh, expiresIn };
  }

  issueAppToken(clientId) {
    const access = rand.token(30);
    const expiresIn = Math.round(this.config.appTokenLifetime);
    this.tokens.set(access, {
      kind: 'app', grant: 'client_credentials', clientId, userId: null, scopes: [], expiresAt: Date.now() + expiresIn * 1000,
      revoked: false, refresh: null, issuedAt: Date.now(),
    });
    return { access, expiresIn };
  }

  // The token's record when it is usable now, else null.
  validToken(access) {
    const t = this.tokens.get(access);
    if (!t || t.revoked || t.expiresAt <= Date.now()) return null;
    if (t.userId !== null && !this.users.has(t.userId)) return null;
    return t;
  }

  // Invalidates every token and refresh token of the user (for one client, or all when clientId is
  // null) and forgets the grant. Returns the number of access tokens invalidated.
  revokeUserAuthorization(userId, clientId) {
    let n = 0;
    for (const t of this.tokens.values()) {
      if (t.userId === userId && (clientId === null || t.clientId === clientId) && !t.revoked) {
        t.revoked = true;
        n++;
      }
    }
    for (const r of this.refreshTokens.values()) {
      if (r.userId === userId && (clientId === null || r.clientId === clientId)) r.valid = false;
    }
    for (const key of [...this.grants.keys()]) {
      const [c, u] = key.split(':');
      if (u === userId && (clientId === null || c === clientId)) this.grants.delete(key);
    }
    return n;
  }

  // --- delivery log ------------------------------------------------------------------------
  recordDelivery(entry) {
    this.deliveries.push({ at: new Date().toISOString(), ...entry });
    if (this.deliveries.length > DELIVERY_LOG_CAP) this.deliveries.splice(0, this.deliveries.length - DELIVERY_LOG_CAP);
  }
}

module.exports = { State };
