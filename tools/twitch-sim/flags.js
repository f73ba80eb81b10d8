'use strict';
// Command-line flags: one table drives parsing, defaults, validation and --help.

const { LEVELS } = require('./log');

class FlagError extends Error {}

const seconds = (v) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new FlagError('must be a positive number of seconds');
  return n;
};
const count = (v) => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 0) throw new FlagError('must be a whole number');
  return n;
};
const positive = (v) => {
  const n = count(v);
  if (n === 0) throw new FlagError('must be at least 1');
  return n;
};
const listen = (v) => {
  const m = /^(\[[0-9a-f:]+\]|[^:]+):(\d{1,5})$/i.exec(v);
  if (!m || Number(m[2]) > 65535) throw new FlagError('must be HOST:PORT');
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
};
const app = (v) => {
  const i = v.indexOf(':');
  if (i <= 0 || i === v.length - 1) throw new FlagError('must be CLIENT_ID:CLIENT_SECRET');
  return { clientId: v.slice(0, i), secret: v.slice(i + 1) };
};
const uri = (v) => {
  if (!URL.canParse(v)) throw new FlagError('must be an absolute URI');
  return v;
};
const text = (v) => {
  if (v === '') throw new FlagError('must not be empty');
  return v;
};
const level = (v) => {
  if (!(v in LEVELS)) throw new FlagError(`must be one of ${Object.keys(LEVELS).join(', ')}`);
  return v;
};

// key: the config property; arg: the value's name in --help (none for switches).
const FLAGS = [
  { name: 'listen', key: 'listen', arg: 'HOST:PORT', parse: listen, def: '127.0.0.1:9090', help: 'address to listen on; port 0 picks a free port (the start-up line shows the real one)' },
  { name: 'client-id', key: 'clientId', arg: 'ID', parse: text, required: true, help: 'client ID of the registered application' },
  { name: 'client-secret', key: 'clientSecret', arg: 'SECRET', parse: text, required: true, help: 'its client secret' },
  { name: 'app', key: 'apps', arg: 'ID:SECRET', parse: app, repeat: true, help: 'register another application (repeatable)' },
  { name: 'redirect-uri', key: 'redirectUris', arg: 'URI', parse: uri, repeat: true, help: 'registered OAuth redirect URI (repeatable); with none, any http://localhost… or http://127.0.0.1… URI is accepted' },
  { name: 'auto-approve', key: 'autoApprove', arg: 'LOGIN', parse: text, help: '/oauth2/authorize approves at once as this user (created at start if missing)' },
  { name: 'demo', key: 'demo', help: 'create demo streamers and viewers and emit a steady trickle of events' },
  { name: 'token-lifetime', key: 'tokenLifetime', arg: 'SECONDS', parse: seconds, def: '14400', help: 'user access token lifetime' },
  { name: 'app-token-lifetime', key: 'appTokenLifetime', arg: 'SECONDS', parse: seconds, def: '5184000', help: 'app access token lifetime' },
  { name: 'code-lifetime', key: 'codeLifetime', arg: 'SECONDS', parse: seconds, def: '600', help: 'authorization code lifetime' },
  { name: 'rate-limit', key: 'rateLimit', arg: 'POINTS', parse: positive, def: '800', help: 'Helix points per minute per client (app tokens) or client+user (user tokens)' },
  { name: 'ws-default-keepalive', key: 'wsDefaultKeepalive', arg: 'SECONDS', parse: seconds, def: '10', help: 'keepalive_timeout_seconds when the client does not ask for one' },
  { name: 'ws-subscribe-timeout', key: 'wsSubscribeTimeout', arg: 'SECONDS', parse: seconds, help: 'close 4003 when a new session has no subscription after this long (default: the session\'s keepalive_timeout_seconds)' },
  { name: 'ws-ping-interval', key: 'wsPingInterval', arg: 'SECONDS', parse: seconds, def: '5', help: 'WebSocket Ping period; a Ping unanswered by the next one closes the session with 4002' },
  { name: 'ws-reconnect-grace', key: 'wsReconnectGrace', arg: 'SECONDS', parse: seconds, def: '30', help: 'time after session_reconnect to connect to the new URL, else 4004' },
  { name: 'ws-reconnect-keep-session-id', key: 'wsReconnectKeepSessionId', help: 'the welcome after a reconnect keeps the old session id (default: a new id)' },
  { name: 'ws-max-connections', key: 'wsMaxConnections', arg: 'N', parse: positive, def: '3', help: 'WebSocket sessions with subscriptions per client+user' },
  { name: 'ws-max-subscriptions', key: 'wsMaxSubscriptions', arg: 'N', parse: positive, def: '300', help: 'subscriptions per WebSocket session' },
  { name: 'ws-max-cost', key: 'wsMaxCost', arg: 'N', parse: count, def: '10', help: 'max_total_cost per client+user over WebSocket' },
  { name: 'webhook-max-cost', key: 'webhookMaxCost', arg: 'N', parse: count, def: '10000', help: 'max_total_cost per client over webhooks' },
  { name: 'max-conduits', key: 'maxConduits', arg: 'N', parse: positive, def: '5', help: 'conduits per client (Create Conduits answers 429 beyond)' },
  { name: 'max-conduit-shards', key: 'maxConduitShards', arg: 'N', parse: positive, def: '20000', help: 'shards per conduit (shard_count above is 400)' },
  { name: 'max-same-condition', key: 'maxSameCondition', arg: 'N', parse: positive, def: '3', help: 'subscriptions with the same type+version+condition (different callbacks or sessions) before 429' },
  { name: 'no-authorized-user-discount', key: 'noAuthorizedUserDiscount', help: 'charge cost 1 for no-authorization types even when a condition user has authorized the client' },
  { name: 'disabled-retention', key: 'disabledRetention', arg: 'SECONDS', parse: seconds, def: '3600', help: 'how long disabled WebSocket subscriptions stay listed' },
  { name: 'webhook-timeout', key: 'webhookTimeout', arg: 'SECONDS', parse: seconds, def: '10', help: 'a webhook receiver slower than this failed the attempt' },
  { name: 'webhook-retries', key: 'webhookRetries', arg: 'N', parse: count, def: '4', help: 're-deliveries (same message id) after a failed attempt' },
  { name: 'webhook-retry-delay', key: 'webhookRetryDelay', arg: 'SECONDS', parse: seconds, def: '5', help: 'delay before the first re-delivery; doubles each time' },
  { name: 'webhook-failure-limit', key: 'webhookFailureLimit', arg: 'N', parse: positive, def: '10', help: 'failed attempts in a row that revoke a subscription (notification_failures_exceeded)' },
  { name: 'webhook-plain-http', key: 'webhookPlainHttp', help: 'deliver to https:// callbacks over plain HTTP (as if a TLS-terminating proxy sat in front)' },
  { name: 'lenient-challenge', key: 'lenientChallenge', help: 'accept a challenge answer with any Content-Type (default: text/plain required)' },
  { name: 'log-level', key: 'logLevel', arg: 'LEVEL', parse: level, def: 'info', help: 'debug, info, warn or error (JSON lines on stderr)' },
  { name: 'help', key: 'help', help: 'print this help' },
];

const CONTROL_ROUTES = [
  ['POST /sim/users {"login","display_name","broadcaster_type","description"}', 'create a user; 201 with the user'],
  ['GET /sim/users', 'list users'],
  ['DELETE /sim/users/{login}', 'delete a user (revokes subscriptions naming them: user_removed)'],
  ['POST /sim/moderators {"user","broadcaster"}', 'make user a moderator of broadcaster'],
  ['POST /sim/auth/next {"login","approve"}', 'the next /oauth2/authorize approves as login (or denies with "approve":false)'],
  ['POST /sim/auth/revoke {"login","client_id"}', 'the user disconnects the app (all apps without client_id): tokens and refresh tokens die, subscriptions relying on them get authorization_revoked'],
  ['POST /sim/streams/{login} {"live","title","game_name"}', 'go live / offline, change title or category (sends stream.online/offline, channel.update)'],
  ['POST /sim/follows {"user","broadcaster"}', 'follow (sends channel.follow); DELETE /sim/follows unfollows'],
  ['POST /sim/trigger {"type","broadcaster","user",…}', 'send one event of type to every matching subscription; optional notice_type, bits, message, title, category_name, viewers, tier, total, anonymous, reward_id, duplicate; 200 {"delivered","message_ids"}'],
  ['POST /sim/eventsub/reconnect {"session_id"}', 'send session_reconnect to one or every WebSocket session'],
  ['POST /sim/eventsub/close {"code","session_id"}', 'close one or every WebSocket session with a code 4000-4007'],
  ['POST /sim/eventsub/revoke {"subscription_id","status"}', 'revoke a subscription (status default authorization_revoked)'],
  ['GET /sim/eventsub/sessions', 'live WebSocket sessions'],
  ['GET /sim/conduits', 'every conduit of every client with its shards (status, transport)'],
  ['GET /sim/subscriptions', 'every subscription with its status, transport, client_id and the token\'s user_id'],
  ['GET /sim/deliveries?subscription_id=&message_id=&transport=&message_type=', 'what was delivered where, and what the receiver answered'],
  ['POST /sim/faults {"status","count","path"}', 'the next count Helix calls (to path, e.g. /helix/users, or any) fail with status; DELETE /sim/faults clears'],
  ['POST /sim/clock {"offset_seconds"}', 'skew the clock of message timestamps (GET /sim/clock reads it)'],
];

function help() {
  const lines = ['usage: twitch-sim --client-id ID --client-secret SECRET [flags]', '',
    'A Twitch simulator over plain HTTP/WS (see tools/twitch-sim/README.md):',
    '  /oauth2/{authorize,token,validate,revoke}   OAuth (authorization code, refresh, client credentials)',
    '  /helix/{users,streams,streams/followed,channels,channels/followed,channels/followers,eventsub/subscriptions,eventsub/conduits,eventsub/conduits/shards}',
    '  /ws                                         EventSub WebSocket (?keepalive_timeout_seconds=10..600)',
    '  /embed/player?channel=&parent=, /embed/{channel}/chat?parent=   stub embeds with Twitch\'s parent rule',
    '  /mock/…, /eventsub/subscriptions, /auth/…   aliases for twurple\'s and twitch-cli\'s mock-server layout',
    '', 'flags:'];
  for (const f of FLAGS) {
    const left = `  --${f.name}${f.arg ? ' ' + f.arg : ''}`;
    const def = f.def !== undefined ? ` (default ${f.def})` : '';
    lines.push(`${left.padEnd(40)} ${f.help}${def}`);
  }
  lines.push('', 'control routes:');
  for (const [route, what] of CONTROL_ROUTES) lines.push(`  ${route}`, `      ${what}`);
  return lines.join('\n') + '\n';
}

// The config object, or throws FlagError with a one-line message.
function parseFlags(argv) {
  const byName = new Map(FLAGS.map((f) => [f.name, f]));
  const raw = new Map();
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(argv[i]);
    if (!m) throw new FlagError(`unexpected argument "${argv[i]}"`);
    const flag = byName.get(m[1]);
    if (!flag) throw new FlagError(`unknown flag --${m[1]}`);
    let value = m[2];
    if (flag.arg && value === undefined) {
      if (i + 1 >= argv.length) throw new FlagError(`--${flag.name} needs a value (${flag.arg})`);
      value = argv[++i];
    }
    if (!flag.arg) {
      if (value !== undefined) throw new FlagError(`--${flag.name} takes no value`);
      value = true;
    }
    if (!flag.repeat && raw.has(flag.name)) throw new FlagError(`--${flag.name} given twice`);
    raw.set(flag.name, flag.repeat ? [...(raw.get(flag.name) ?? []), value] : value);
  }
  const config = {};
  for (const f of FLAGS) {
    const given = raw.get(f.name);
    if (!f.arg) {
      config[f.key] = given === true;
      continue;
    }
    if (given === undefined && f.required && !raw.has('help')) throw new FlagError(`--${f.name} is required`);
    const values = f.repeat ? given ?? [] : [given ?? f.def];
    const parsed = values.map((v) => {
      if (v === undefined) return undefined;
      try {
        return f.parse(v);
      } catch (e) {
        if (!(e instanceof FlagError)) throw e;
        throw new FlagError(`--${f.name} ${e.message}`);
      }
    });
    config[f.key] = f.repeat ? parsed : parsed[0];
  }
  return config;
}

module.exports = { parseFlags, help, FlagError, FLAGS, CONTROL_ROUTES };
