// live.js — the reconnecting event socket. SEV pages never poll: they load history once over
// HTTP, then follow GET /ws?streamer=LOGIN&since=NEWEST_ID.
//
//   connecting ──open──▶ live ──close/error──▶ reconnecting (countdown) ──timer──▶ connecting
//        ▲                                          │  browser offline
//        └────────────── 'online' event ◀── offline ◀┘
//
// Backoff: attempt n waits a random time in [d/2, d] with d = min(30 s, 1 s · 2^(n-1))
// ("equal jitter", so a server restart does not bring every browser back in the same second).
// The attempt counter resets only after a connection stayed open for 10 s, so a server that
// accepts and immediately drops us still backs off. `since` is always the id of the newest
// event received, so the server's replay fills whatever was missed while away.

const MIN_DELAY = 1000;
const MAX_DELAY = 30000;
const STABLE_MS = 10000;
const CONNECT_TIMEOUT = 15000;

export function backoffDelay(attempt, rand = Math.random) {
  const d = Math.min(MAX_DELAY, MIN_DELAY * 2 ** Math.max(0, attempt - 1));
  return Math.round(d / 2 + rand() * (d / 2));
}

export class LiveFeed {
  // onEvent(event, kind): kind is 'event' or 'gap'.
  // onState({state, seconds}): state is connecting | live | reconnecting | offline | stopped.
  constructor({ streamer, since = null, onEvent, onState = () => {} }) {
    this.streamer = streamer;
    this.since = since;
    this.onEvent = onEvent;
    this.onState = onState;
    this.ws = null;
    this.attempt = 0;
    this.stopped = true;
    this.timers = {};
    this.seen = new Set();
    this.seenOrder = [];
    this.onOnline = () => {
      if (!this.stopped && (!this.ws || this.ws.readyState > 1)) this.connectNow();
    };
    this.onOffline = () => {
      if (!this.stopped && this.ws && this.ws.readyState !== 1) this.setOffline();
    };
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    this.clearTimers();
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000, 'page closed');
      this.ws = null;
    }
    this.emit('stopped');
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let u = `${proto}//${location.host}/ws?streamer=${encodeURIComponent(this.streamer)}`;
    if (this.since) u += `&since=${encodeURIComponent(this.since)}`;
    return u;
  }

  emit(state, seconds = 0) {
    this.state = state;
    this.onState({ state, seconds });
  }

  clearTimers() {
    for (const k of Object.keys(this.timers)) {
      clearTimeout(this.timers[k]);
      clearInterval(this.timers[k]);
    }
    this.timers = {};
  }

  connectNow() {
    this.clearTimers();
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    if (navigator.onLine === false) {
      this.setOffline();
      return;
    }
    this.emit('connecting');
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    let openedAt = 0;
    this.timers.connect = setTimeout(() => {
      if (ws.readyState === WebSocket.CONNECTING) ws.close();
    }, CONNECT_TIMEOUT);

    ws.onopen = () => {
      clearTimeout(this.timers.connect);
      openedAt = Date.now();
      this.emit('live');
      this.timers.stable = setTimeout(() => { this.attempt = 0; }, STABLE_MS);
    };
    ws.onmessage = (msg) => this.handle(msg.data);
    ws.onerror = () => { /* a close event always follows */ };
    ws.onclose = () => {
      clearTimeout(this.timers.connect);
      clearTimeout(this.timers.stable);
      if (this.ws === ws) this.ws = null;
      if (openedAt && Date.now() - openedAt >= STABLE_MS) this.attempt = 0;
      if (!this.stopped) this.scheduleReconnect();
    };
  }

  handle(raw) {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object' || !msg.event || typeof msg.event !== 'object') return;
    const kind = msg.kind === 'gap' ? 'gap' : msg.kind === 'event' ? 'event' : null;
    if (!kind) return; // a kind this page does not know: ignore it
    const ev = msg.event;
    if (kind === 'event' && ev.id) this.since = ev.id; // a stored event: the replay cursor
    if (ev.id) {
      if (this.seen.has(ev.id)) return;
      this.seen.add(ev.id);
      this.seenOrder.push(ev.id);
      if (this.seenOrder.length > 2000) this.seen.delete(this.seenOrder.shift());
    }
    this.onEvent(ev, kind);
  }

  // Ids the page already shows (from the HTTP history) so a replay does not repeat them.
  markSeen(ids) {
    for (const id of ids) {
      if (id && !this.seen.has(id)) {
        this.seen.add(id);
        this.seenOrder.push(id);
      }
    }
  }

  setOffline() {
    this.clearTimers();
    this.emit('offline');
  }

  scheduleReconnect() {
    this.clearTimers();
    if (navigator.onLine === false) {
      this.setOffline();
      return;
    }
    this.attempt += 1;
    const delay = backoffDelay(this.attempt);
    const due = Date.now() + delay;
    const tick = () => this.emit('reconnecting', Math.max(1, Math.ceil((due - Date.now()) / 1000)));
    tick();
    this.timers.countdown = setInterval(tick, 1000);
    this.timers.retry = setTimeout(() => {
      clearInterval(this.timers.countdown);
      this.connect();
    }, delay);
  }
}

// Text for the status pill.
export function stateText({ state, seconds }) {
  switch (state) {
    case 'live': return 'Live';
    case 'connecting': return 'Connecting…';
    case 'reconnecting': return `Reconnecting in ${seconds} s…`;
    case 'offline': return 'Offline';
    default: return 'Stopped';
  }
}
