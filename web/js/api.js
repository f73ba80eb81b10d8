// api.js — the one way pages talk to SEV's HTTP API.
//
// api(path, {method, json}) resolves to the parsed JSON body (or null for 204) and rejects
// with an ApiError whose .message is the server's {"error": "..."} text when it sent one,
// else a friendly sentence for the status. .status is the HTTP status (0: network failure).

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

const FALLBACK = {
  400: "That request wasn't valid.",
  401: 'You need to log in first.',
  403: "You're not allowed to do that.",
  404: "SEV couldn't find that.",
  409: 'That conflicts with something that already exists.',
  415: 'SEV expected JSON.',
  429: 'Too many requests. Please wait a moment and try again.',
  500: 'SEV hit a problem on its side. Please try again.',
  502: "Twitch didn't answer properly. Please try again in a moment.",
  503: 'SEV is temporarily unavailable. Please try again in a moment.',
  504: 'Twitch took too long to answer. Please try again.',
};

export async function api(path, { method = 'GET', json, signal } = {}) {
  const headers = { Accept: 'application/json' };
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body, signal, credentials: 'same-origin', cache: 'no-store' });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, "Can't reach SEV right now. Check your connection and try again.");
  }
  if (res.status === 204) return null;
  let data = null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('json')) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const msg = data && typeof data.error === 'string' && data.error.trim()
      ? data.error.trim()
      : FALLBACK[res.status] || `Something went wrong (HTTP ${res.status}).`;
    throw new ApiError(res.status, msg, data);
  }
  return data;
}

// GET /api/me: the user, or null for a stranger (401). Cached per page load.
let mePromise = null;
export function getMe({ refresh = false } = {}) {
  if (!mePromise || refresh) {
    mePromise = api('/api/me').catch((err) => {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    });
  }
  return mePromise;
}

// GET /config.json (embed settings). Cached per page load; a failure yields safe defaults.
let configPromise = null;
export function getConfig() {
  if (!configPromise) {
    configPromise = api('/config.json').catch(() => ({
      public_url: location.origin,
      player_url: 'https://player.twitch.tv/',
      chat_url: 'https://www.twitch.tv/embed/',
      parents: [location.hostname],
      embed_ok: location.protocol === 'https:' || location.hostname === 'localhost',
      embed_problem: null,
    }));
  }
  return configPromise;
}

// Twitch logins: 1..25 letters, digits, underscores. Accepts "@name" and twitch.tv URLs too.
export function normalizeLogin(input) {
  let s = String(input || '').trim();
  const m = s.match(/^(?:https?:\/\/)?(?:www\.|m\.)?twitch\.tv\/([^/?#\s]+)/i);
  if (m) s = m[1];
  s = s.replace(/^@/, '').toLowerCase();
  return s;
}
export const LOGIN_RE = /^[a-z0-9_]{1,25}$/;
