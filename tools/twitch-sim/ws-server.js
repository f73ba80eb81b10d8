'use strict';
// The EventSub WebSocket server at /ws: welcome, keepalives, pings, the unused-connection rule
// (4003), inbound traffic (4001), unanswered pings (4002), session_reconnect hand-over (4004,
// 4007), revocations, close codes on demand, and disabling subscriptions when a session ends.

const { WebSocketServer, WebSocket } = require('ws');
const rand = require('./random');
const { Reject } = require('./eventsub');

const REASONS = {
  4000: 'internal server error', 4001: 'sent inbound traffic', 4002: 'failed ping pong', 4003: 'connection unused',
  4004: 'reconnect grace time expired', 4005: 'network timeout', 4006: 'network error', 4007: 'invalid reconnect',
};
// Subscription status after the server closed a session with this code.
const STATUS_BY_CODE = {
  4000: 'websocket_internal_error', 4001: 'websocket_received_inbound_traffic', 4002: 'websocket_failed_ping_pong',
  4003: 'websocket_connection_unused', 4004: 'websocket_failed_to_reconnect', 4005: 'websocket_network_timeout',
  4006: 'websocket_network_error', 4007: 'websocket_failed_to_reconnect',
};
// After a hand-over, how long the client may keep the old socket open before it is closed (4004).

function rejectUpgrade(socket, status, message) {
  const body = JSON.stringify({ error: status === 404 ? 'Not Found' : 'Bad Request', status, message });
  socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Bad Request'}\r\nContent-Type: application/json\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

class WsServer {
  constructor(sim) {
    this.sim = sim;
    this.sessions = new Map(); // session id -> live session
    this.reconnects = new Map(); // reconnect id -> session being moved
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, autoPong: false });
  }

  get config() {
    return this.sim.config;
  }

  // --- connections --------------------------------------------------------------------------
  handleUpgrade(req, socket, head) {
    const url = new URL(req.url, 'http://sim');
    if (url.pathname !== '/ws') return rejectUpgrade(socket, 404, 'unknown WebSocket path');
    let keepalive = this.config.wsDefaultKeepalive;
    const asked = url.searchParams.get('keepalive_timeout_seconds');
    if (asked !== null) {
      const n = Number(asked);
      if (asked.trim() === '' || !Number.isFinite(n)) return rejectUpgrade(socket, 400, 'keepalive_timeout_seconds must be a number');
      keepalive = Math.min(600, Math.max(10, Math.round(n)));
    }
    const host = req.headers.host || this.sim.state.baseUrl.replace(/^http:\/\//, '');
    this.wss.handleUpgrade(req, socket, head, (sock) => {
      const reconnectId = url.searchParams.get('reconnect_id');
      if (reconnectId === null) this.open(sock, keepalive, host, rand.sessionId());
      else this.takeOver(reconnectId, sock);
    });
  }

  open(sock, keepalive, host, id, predecessor = null) {
    const session = {
      id, sock, keepalive, host, connectedAt: this.sim.state.timestamp(), owner: null, subs: new Set(),
      everSubscribed: false, state: 'connected', queue: [], awaitingPong: false, timers: {},
    };
    if (predecessor) {
      session.owner = predecessor.owner;
      session.subs = predecessor.subs;
      session.everSubscribed = predecessor.everSubscribed;
      for (const subId of session.subs) this.sim.state.subscriptions.get(subId).transport.session_id = id;
    }
    this.sessions.set(id, session);
    sock.on('message', () => this.end(session, 4001));
    sock.on('ping', () => this.end(session, 4001));
    sock.on('pong', () => {
      session.awaitingPong = false;
    });
    sock.on('close', () => this.socketClosed(session, sock));
    sock.on('error', () => {});
    this.send(session, this.message('session_welcome', {
      session: { id, status: 'connected', connected_at: session.connectedAt, keepalive_timeout_seconds: keepalive, reconnect_url: null },
    }));
    session.timers.ping = setInterval(() => this.ping(session), this.config.wsPingInterval * 1000);
    if (!session.everSubscribed) {
      const window = this.config.wsSubscribeTimeout ?? keepalive;
      session.timers.unused = setTimeout(() => {
        if (!session.everSubscribed) this.end(session, 4003);
      }, window * 1000);
    }
    this.sim.log.info('websocket session opened', { session_id: id, keepalive_timeout_seconds: keepalive, reconnect: Boolean(predecessor) });
    return session;
  }

  ping(session) {
    if (!session.sock || session.sock.readyState !== WebSocket.OPEN) return; // mid hand-over or closing
    if (session.awaitingPong) {
      this.end(session, 4002);
      return;
    }
    session.awaitingPong = true;
    session.sock.ping();
  }

  // The server ends a session with a close code; its subscriptions are disabled.
  end(session, code) {
    const sock = session.sock;
    this.finish(session, STATUS_BY_CODE[code]);
    if (sock && sock.readyState === WebSocket.OPEN) sock.close(code, REASONS[code]);
  }

  socketClosed(session, sock) {
    if (session.sock !== sock) return;
    session.sock = null;
    // Mid hand-over the session waits (until the grace period ends) for the new connection.
    if (session.state === 'reconnecting') return;
    this.finish(session, 'websocket_disconnected');
  }

  finish(session, status) {
    if (session.state === 'closed' || session.state === 'handed_over') return;
    session.state = 'closed';
    this.stopTimers(session);
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    if (session.reconnectId) this.reconnects.delete(session.reconnectId);
    this.sim.eventsub.disable(session.subs, status);
    this.sim.log.info('websocket session closed', { session_id: session.id, status, subscriptions: session.subs.size });
    session.subs.clear();
  }

  stopTimers(session) {
    clearInterval(session.timers.ping);
    clearTimeout(session.timers.keepalive);
    clearTimeout(session.timers.unused);
    clearTimeout(session.timers.grace);
  }

  // --- messages -------------------------------------------------------------------------------
  message(type, payload, sub = null) {
    const metadata = { message_id: rand.uuid(), message_type: type, message_timestamp: this.sim.state.timestamp() };
    if (sub) Object.assign(metadata, { subscription_type: sub.type, subscription_version: sub.version });
    return { metadata, payload };
  }

  // Writes a message (queued while a hand-over has no socket yet) and re-arms the keepalive.
  // Returns "sent", "queued" or "dropped".
  send(session, msg) {
    if (session.sock && session.sock.readyState === WebSocket.OPEN) {
      session.sock.send(JSON.stringify(msg));
      clearTimeout(session.timers.keepalive);
      // Keepalives go out a little before the client's timer would fire.
      session.timers.keepalive = setTimeout(() => this.send(session, this.message('session_keepalive', {})), session.keepalive * 900);
      return 'sent';
    }
    if (session.state === 'reconnecting') {
      session.queue.push(msg);
      return 'queued';
    }
    return 'dropped';
  }

  deliver(sub, msg) {
    const session = this.sessions.get(sub.transport.session_id);
    const outcome = session ? this.send(session, msg) : 'dropped';
    this.sim.state.recordDelivery({
      transport: 'websocket', target: sub.transport.session_id, subscription_id: sub.id, subscription_type: sub.type,
      message_id: msg.metadata.message_id, message_type: msg.metadata.message_type, outcome,
    });
  }

  notify(sub, messageId, event) {
    const msg = this.message('notification', { subscription: this.sim.eventsub.json(sub, 'message'), event }, sub);
    msg.metadata.message_id = messageId;
    this.deliver(sub, msg);
  }

  revocation(sub) {
    this.deliver(sub, this.message('revocation', { subscription: this.sim.eventsub.json(sub, 'message') }, sub));
  }

  // --- subscriptions on sessions --------------------------------------------------------------
  // The session a new subscription may use, or a Reject: it must be live, unclaimed or claimed by
  // the same (client, user), within the per-user connection and per-session subscription limits.
  sessionForSubscription(id, owner) {
    const session = this.sessions.get(id);
    if (!session || (session.state !== 'connected' && session.state !== 'reconnecting')) {
      throw new Reject(400, 'websocket transport session does not exist or has already disconnected');
    }
    if (session.owner !== null && session.owner !== owner) {
      throw new Reject(400, 'websocket transport session belongs to another user');
    }
    if (session.owner === null) {
      const open = [...this.sessions.values()].filter((s) => s.owner === owner && s.subs.size > 0).length;
      if (open >= this.config.wsMaxConnections) throw new Reject(429, 'websocket transport connections limit exceeded');
    }
    if (session.subs.size >= this.config.wsMaxSubscriptions) {
      throw new Reject(429, 'websocket transport session subscriptions limit exceeded');
    }
    return session;
  }

  attach(session, sub) {
    session.owner = `${sub.clientId}:${sub.userId}`;
    session.subs.add(sub.id);
    session.everSubscribed = true;
    clearTimeout(session.timers.unused);
  }

  detach(sub) {
    this.sessions.get(sub.transport.session_id)?.subs.delete(sub.id);
  }

  // --- reconnect hand-over ----------------------------------------------------------------
  // Sends session_reconnect; the client has --ws-reconnect-grace seconds to connect to the new
  // URL, else the old session is closed with 4004 and its subscriptions are disabled.
  reconnect(session) {
    if (session.state !== 'connected') return false;
    session.state = 'reconnecting';
    session.reconnectId = rand.token(24);
    this.reconnects.set(session.reconnectId, session);
    clearTimeout(session.timers.unused);
    this.send(session, this.message('session_reconnect', {
      session: {
        id: session.id, status: 'reconnecting', keepalive_timeout_seconds: null,
        reconnect_url: `ws://${session.host}/ws?reconnect_id=${session.reconnectId}`, connected_at: session.connectedAt,
      },
    }));
    session.graceEndsMs = Date.now() + this.config.wsReconnectGrace * 1000;
    session.timers.grace = setTimeout(() => this.end(session, 4004), this.config.wsReconnectGrace * 1000);
    return true;
  }

  takeOver(reconnectId, sock) {
    const old = this.reconnects.get(reconnectId);
    if (!old) {
      sock.on('error', () => {});
      sock.close(4007, REASONS[4007]);
      return;
    }
    this.reconnects.delete(reconnectId);
    this.stopTimers(old);
    old.state = 'handed_over';
    if (this.sessions.get(old.id) === old) this.sessions.delete(old.id);
    const id = this.config.wsReconnectKeepSessionId ? old.id : rand.sessionId();
    const session = this.open(sock, old.keepalive, old.host, id, old);
    old.subs = new Set();
    for (const msg of old.queue) this.send(session, msg);
    old.queue = [];
    const oldSock = old.sock;
    if (oldSock) {
      // As Twitch: the old connection stays until the client closes it, at most until the
      // 30 s (--ws-reconnect-grace) after session_reconnect are over; then 4004.
      setTimeout(() => {
        if (oldSock.readyState === WebSocket.OPEN) oldSock.close(4004, REASONS[4004]);
      }, Math.max(0, (old.graceEndsMs ?? Date.now()) - Date.now()));
    }
  }

  // --- control ----------------------------------------------------------------------------
  live(sessionId) {
    const all = [...this.sessions.values()];
    return sessionId ? all.filter((s) => s.id === sessionId) : all;
  }

  summary(session) {
    const [clientId, userId] = session.owner ? session.owner.split(':') : [null, null];
    return {
      id: session.id, status: session.state, connected_at: session.connectedAt, keepalive_timeout_seconds: session.keepalive,
      client_id: clientId, user_id: userId, subscriptions: session.subs.size,
    };
  }

  close() {
    for (const session of [...this.sessions.values()]) this.end(session, 4000);
    this.wss.close();
  }
}

module.exports = { WsServer };
