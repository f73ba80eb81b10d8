'use strict';
// Helix at /helix/…: token and Client-Id checks, the points bucket with Ratelimit-* headers,
// injected faults, Get Users / Streams / Followed Streams / Channel Information / Followed
// Channels / Channel Followers, and the EventSub subscription endpoints.

const { HttpError, Reply, readJson, sendJson, sendEmpty, helixError } = require('./http-util');
const { Reject } = require('./eventsub');

const PAGE_CAP = 100;

// Cursors are opaque base64 strings, like Twitch's.
const encodeCursor = (offset) => Buffer.from(JSON.stringify({ a: { Offset: offset } })).toString('base64');
function decodeCursor(cursor) {
  try {
    const offset = JSON.parse(Buffer.from(cursor, 'base64').toString('utf8')).a.Offset;
    if (Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // fall through
  }
  throw new Reject(400, 'The parameter "after" was malformed');
}

function page(items, params, defaultFirst) {
  let first = defaultFirst;
  if (params.has('first')) {
    first = Number(params.get('first'));
    if (!Number.isInteger(first) || first < 1 || first > PAGE_CAP) {
      throw new Reject(400, 'The parameter "first" was malformed: the value must be between 1 and 100');
    }
  }
  const start = params.has('after') ? decodeCursor(params.get('after')) : 0;
  const data = items.slice(start, start + first);
  const pagination = start + first < items.length ? { cursor: encodeCursor(start + first) } : {};
  return { data, pagination };
}

function many(params, name) {
  const values = params.getAll(name);
  if (values.length > PAGE_CAP) throw new Reject(400, `The parameter "${name}" may be given at most 100 times`);
  return values;
}

function requireScope(token, scope) {
  if (!token.scopes.includes(scope)) throw new Reject(401, `Missing scope: ${scope}`);
}

function requireUserToken(token) {
  if (token.kind !== 'user') throw new Reject(401, 'This endpoint requires a user access token');
}

class Helix {
  constructor(sim) {
    this.sim = sim;
    this.buckets = new Map(); // `${clientId}:${userId|app}` -> {points, updatedMs}
    this.faults = []; // {status, remaining, path|null}
    this.routes = {
      'GET /users': (c) => this.getUsers(c),
      'GET /streams': (c) => this.getStreams(c),
      'GET /streams/followed': (c) => this.getFollowedStreams(c),
      'GET /channels': (c) => this.getChannels(c),
      'GET /channels/followed': (c) => this.getFollowedChannels(c),
      'GET /channels/followers': (c) => this.getChannelFollowers(c),
      'POST /eventsub/subscriptions': (c) => this.createSubscription(c),
      'GET /eventsub/subscriptions': (c) => this.listSubscriptions(c),
      'DELETE /eventsub/subscriptions': (c) => this.deleteSubscription(c),
      'GET /eventsub/conduits': (c) => this.sim.conduits.list(c.token),
      'POST /eventsub/conduits': async (c) => this.sim.conduits.create(await readJson(c.req), c.token),
      'PATCH /eventsub/conduits': async (c) => this.sim.conduits.update(await readJson(c.req), c.token),
      'DELETE /eventsub/conduits': (c) => this.sim.conduits.remove(c.params.get('id'), c.token) ?? null,
      'GET /eventsub/conduits/shards': (c) => this.sim.conduits.shards(c.params, c.token),
      'PATCH /eventsub/conduits/shards': async (c) => new Reply(202, this.sim.conduits.updateShards(await readJson(c.req), c.token)),
    };
  }

  get state() {
    return this.sim.state;
  }

  // path is relative to /helix, e.g. "/users".
  async handle(req, res, path, url) {
    const route = this.routes[`${req.method} ${path}`];
    const fault = route && this.takeFault(`/helix${path}`);
    const token = route && !fault && this.authenticate(req);
    if (!route) {
      helixError(res, 404, 'Not Found');
    } else if (fault) {
      helixError(res, fault, 'simulated fault', fault === 429 ? this.rateHeaders(0, Math.ceil(Date.now() / 1000) + 1) : {});
    } else if (token.error) {
      helixError(res, 401, token.error);
    } else {
      const bucket = this.spend(token);
      const headers = this.rateHeaders(bucket.remaining, bucket.reset);
      if (bucket.ok) await this.answer(res, route, { req, url, params: url.searchParams, token }, headers);
      else helixError(res, 429, 'Too Many Requests', headers);
    }
  }

  async answer(res, route, ctx, headers) {
    try {
      const result = await route(ctx);
      if (result === null) sendEmpty(res, 204, headers);
      else if (result instanceof Reply) sendJson(res, result.status, result.body, headers);
      else sendJson(res, 200, result, headers);
    } catch (e) {
      if (!(e instanceof Reject || e instanceof HttpError)) throw e;
      helixError(res, e.status, e.message, headers);
    }
  }

  authenticate(req) {
    const header = req.headers.authorization;
    if (!header) return { error: 'OAuth token is missing' };
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const token = m ? this.state.validToken(m[1]) : null;
    if (!token) return { error: 'Invalid OAuth token' };
    const clientId = req.headers['client-id'];
    if (!clientId) return { error: 'Client-Id header required' };
    if (clientId !== token.clientId) return { error: 'Client ID and OAuth token do not match' };
    return token;
  }

  // --- rate limit and faults ----------------------------------------------------------------
  // A token bucket per client (app tokens) or per (client, user): --rate-limit points, refilled
  // continuously over a minute; each call costs one point.
  spend(token) {
    const limit = this.sim.config.rateLimit;
    const key = `${token.clientId}:${token.userId ?? 'app'}`;
    const now = Date.now();
    const bucket = this.buckets.get(key) ?? { points: limit, updatedMs: now };
    bucket.points = Math.min(limit, bucket.points + ((now - bucket.updatedMs) / 60000) * limit);
    bucket.updatedMs = now;
    this.buckets.set(key, bucket);
    const ok = bucket.points >= 1;
    if (ok) bucket.points -= 1;
    const secondsToFull = ((limit - bucket.points) / limit) * 60;
    return { ok, remaining: Math.floor(bucket.points), reset: Math.ceil(now / 1000 + secondsToFull) };
  }

  rateHeaders(remaining, reset) {
    return { 'Ratelimit-Limit': String(this.sim.config.rateLimit), 'Ratelimit-Remaining': String(remaining), 'Ratelimit-Reset': String(reset) };
  }

  addFault(status, count, path) {
    this.faults.push({ status, remaining: count, path });
  }

  takeFault(path) {
    const fault = this.faults.find((f) => f.path === null || f.path === path);
    if (!fault) return null;
    if (--fault.remaining === 0) this.faults.splice(this.faults.indexOf(fault), 1);
    return fault.status;
  }

  // --- users, streams, channels --------------------------------------------------------------
  getUsers({ params, token }) {
    const ids = params.getAll('id');
    const logins = params.getAll('login').map((l) => l.toLowerCase());
    if (ids.length + logins.length > PAGE_CAP) throw new Reject(400, 'The total number of "id" and "login" parameters must not exceed 100');
    let users;
    if (ids.length + logins.length === 0) {
      if (token.kind !== 'user') throw new Reject(400, 'Missing required parameter "id" or "login"');
      users = [this.state.users.get(token.userId)];
    } else {
      const found = new Map();
      for (const id of ids) if (this.state.users.has(id)) found.set(id, this.state.users.get(id));
      for (const login of logins) {
        const u = this.state.userByLogin(login);
        if (u) found.set(u.id, u);
      }
      users = [...found.values()];
    }
    const withEmail = token.kind === 'user' && token.scopes.includes('user:read:email');
    return {
      data: users.map(({ email, ...u }) => (withEmail && u.id === token.userId ? { ...u, email } : u)),
    };
  }

  streamJson(userId) {
    const u = this.state.users.get(userId);
    const s = this.state.streams.get(userId);
    const ch = this.state.channels.get(userId);
    return {
      id: s.id, user_id: u.id, user_login: u.login, user_name: u.display_name, game_id: ch.game_id, game_name: ch.game_name,
      type: 'live', title: ch.title, tags: ch.tags, viewer_count: s.viewer_count, started_at: s.started_at, language: ch.language,
      thumbnail_url: `https://static-cdn.jtvnw.net/previews-ttv/live_user_${u.login}-{width}x{height}.jpg`, tag_ids: [], is_mature: false,
    };
  }

  liveStreams(filter = () => true) {
    return [...this.state.streams.keys()].map((id) => this.streamJson(id)).filter(filter).sort((a, b) => b.viewer_count - a.viewer_count);
  }

  getStreams({ params }) {
    const ids = many(params, 'user_id');
    const logins = many(params, 'user_login').map((l) => l.toLowerCase());
    const games = many(params, 'game_id');
    const languages = many(params, 'language');
    const type = params.get('type') ?? 'all';
    if (type !== 'all' && type !== 'live') throw new Reject(400, 'The parameter "type" must be all or live');
    const streams = this.liveStreams((s) => (ids.length + logins.length === 0 || ids.includes(s.user_id) || logins.includes(s.user_login))
      && (games.length === 0 || games.includes(s.game_id)) && (languages.length === 0 || languages.includes(s.language)));
    return page(streams, params, 20);
  }

  getFollowedStreams({ params, token }) {
    requireUserToken(token);
    requireScope(token, 'user:read:follows');
    if (params.get('user_id') !== token.userId) throw new Reject(400, 'The parameter "user_id" must match the user in the access token');
    const followed = new Set(this.state.followedBy(token.userId).map((f) => f.broadcasterId));
    return page(this.liveStreams((s) => followed.has(s.user_id)), params, 100);
  }

  getChannels({ params }) {
    const ids = many(params, 'broadcaster_id');
    if (ids.length === 0) throw new Reject(400, 'Missing required parameter "broadcaster_id"');
    const data = ids.filter((id) => this.state.users.has(id)).map((id) => {
      const u = this.state.users.get(id);
      const ch = this.state.channels.get(id);
      return {
        broadcaster_id: u.id, broadcaster_login: u.login, broadcaster_name: u.display_name, broadcaster_language: ch.language,
        game_name: ch.game_name, game_id: ch.game_id, title: ch.title, delay: ch.delay, tags: ch.tags,
        content_classification_labels: ch.content_classification_labels, is_branded_content: ch.is_branded_content,
      };
    });
    return { data };
  }

  // --- follows ---------------------------------------------------------------------------
  getFollowedChannels({ params, token }) {
    requireUserToken(token);
    requireScope(token, 'user:read:follows');
    if (!params.has('user_id')) throw new Reject(400, 'Missing required parameter "user_id"');
    if (params.get('user_id') !== token.userId) throw new Reject(401, 'The ID in user_id must match the user ID found in the access token');
    let follows = this.state.followedBy(token.userId);
    if (params.has('broadcaster_id')) follows = follows.filter((f) => f.broadcasterId === params.get('broadcaster_id'));
    const items = follows.sort((a, b) => b.followedAt.localeCompare(a.followedAt)).map((f) => {
      const b = this.state.users.get(f.broadcasterId);
      return { broadcaster_id: b.id, broadcaster_login: b.login, broadcaster_name: b.display_name, followed_at: f.followedAt };
    });
    return { total: items.length, ...page(items, params, 20) };
  }

  // The list needs moderator:read:followers and a token user who moderates the channel (or owns
  // it); otherwise only "total" is given and asking for a user_id is 401.
  getChannelFollowers({ params, token }) {
    requireUserToken(token);
    const broadcasterId = params.get('broadcaster_id');
    if (!broadcasterId) throw new Reject(400, 'Missing required parameter "broadcaster_id"');
    const followers = [...this.state.followersOf(broadcasterId)].sort((a, b) => b[1].localeCompare(a[1]));
    const allowed = token.scopes.includes('moderator:read:followers') && this.state.isModerator(token.userId, broadcasterId);
    if (!allowed) {
      if (params.has('user_id')) throw new Reject(401, 'Missing scope: moderator:read:followers');
      return { total: followers.length, data: [], pagination: {} };
    }
    let items = followers.map(([userId, followedAt]) => {
      const u = this.state.users.get(userId);
      return { followed_at: followedAt, user_id: u.id, user_login: u.login, user_name: u.display_name };
    });
    if (params.has('user_id')) items = items.filter((f) => f.user_id === params.get('user_id'));
    return { total: items.length, ...page(items, params, 20) };
  }

  // --- EventSub subscriptions -----------------------------------------------------------------
  async createSubscription({ req, token }) {
    const body = await readJson(req);
    return new Reply(202, this.sim.eventsub.create(body, token));
  }

  listSubscriptions({ params, token }) {
    const eventsub = this.sim.eventsub;
    const subs = eventsub.list(params, token);
    const { count, total, max } = eventsub.costs(token);
    // This endpoint has no "first": pages hold up to 100.
    const cursor = new URLSearchParams(params.has('after') ? { after: params.get('after') } : {});
    const { data, pagination } = page(subs.map((s) => eventsub.json(s)), cursor, PAGE_CAP);
    return { total: count, data, total_cost: total, max_total_cost: max, pagination };
  }

  deleteSubscription({ params, token }) {
    if (!params.get('id')) throw new Reject(400, 'Missing required parameter "id"');
    this.sim.eventsub.remove(params.get('id'), token);
    return null;
  }
}

module.exports = { Helix };
