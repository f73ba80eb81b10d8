'use strict';
// OAuth at /oauth2/{authorize,token,validate,revoke}: the authorization-code flow (consent page
// or automatic approval), rotating refresh tokens, client credentials, validate and revoke.

const { readForm, sendJson, sendHtml, sendEmpty, escapeHtml } = require('./http-util');
const rand = require('./random');

const LOGIN_PATTERN = /^[a-z0-9_]{1,25}$/;
const COOKIE = 'twitch_sim_login';

const GRANTS = { authorization_code: 'codeGrant', refresh_token: 'refreshGrant', client_credentials: 'appGrant' };

const oauthError = (res, status, message) => sendJson(res, status, { status, message });

function cookieLogin(req) {
  const m = new RegExp(`(?:^|;\\s*)${COOKIE}=([a-z0-9_]+)`).exec(req.headers.cookie ?? '');
  return m ? m[1] : null;
}

class OAuth {
  constructor(sim) {
    this.sim = sim;
  }

  get state() {
    return this.sim.state;
  }

  // path is relative to /oauth2, e.g. "/token".
  async handle(req, res, path, url) {
    const route = `${req.method} ${path}`;
    if (route === 'GET /authorize') return this.authorize(req, res, Object.fromEntries(url.searchParams));
    if (route === 'POST /authorize') return this.consent(req, res, await readForm(req, url));
    if (route === 'POST /token') return this.token(res, await readForm(req, url));
    if (route === 'GET /validate') return this.validate(req, res);
    if (route === 'POST /revoke') return this.revoke(res, await readForm(req, url));
    return oauthError(res, 404, 'Not Found');
  }

  redirectAllowed(uri) {
    const registered = this.sim.config.redirectUris;
    if (registered.length > 0) return registered.includes(uri);
    try {
      const u = new URL(uri);
      return u.protocol === 'http:' && (u.hostname === 'localhost' || u.hostname === '127.0.0.1');
    } catch {
      return false;
    }
  }

  // What is wrong with an authorization request ([status, message]), or null.
  requestProblem(p) {
    if (!this.state.apps.has(p.client_id)) return [400, 'invalid client'];
    if (!p.redirect_uri || !this.redirectAllowed(p.redirect_uri)) return [400, 'Parameter redirect_uri does not match registered URI'];
    if (p.response_type !== 'code') return [400, 'unsupported response_type'];
    return null;
  }

  authorize(req, res, params) {
    const problem = this.requestProblem(params);
    if (problem) {
      oauthError(res, ...problem);
      return;
    }
    const p = { ...params, scopes: (params.scope ?? '').split(' ').filter(Boolean) };
    const next = this.state.nextApproval;
    if (next) {
      this.state.nextApproval = null;
      this.decide(res, p, next.approve ? this.state.userByLogin(next.login) : null);
      return;
    }
    const auto = this.sim.config.autoApprove && this.state.userByLogin(this.sim.config.autoApprove);
    if (auto) {
      this.decide(res, p, auto);
      return;
    }
    // Like Twitch: a user who already granted these scopes is sent straight back, unless force_verify.
    const remembered = this.state.userByLogin(cookieLogin(req) ?? '');
    const granted = remembered && this.state.grantedScopes(p.client_id, remembered.id);
    if (granted && p.force_verify !== 'true' && p.scopes.every((s) => granted.has(s))) {
      this.decide(res, p, remembered);
      return;
    }
    sendHtml(res, 200, this.consentPage(p));
  }

  // The consent page's form: approve as the picked (or typed, then created) user, or deny.
  consent(req, res, fields) {
    const problem = this.requestProblem(fields);
    if (problem) {
      oauthError(res, ...problem);
      return;
    }
    const p = { ...fields, scopes: (fields.scope ?? '').split(' ').filter(Boolean) };
    if (fields.decision !== 'approve') {
      this.decide(res, p, null);
      return;
    }
    const login = (fields.new_login || fields.login || '').trim().toLowerCase();
    if (!LOGIN_PATTERN.test(login)) {
      sendHtml(res, 400, this.consentPage(p, 'Pick a user or type a login (letters, digits, underscore).'));
      return;
    }
    const user = this.state.userByLogin(login) ?? this.state.createUser({ login });
    this.decide(res, p, user, { 'Set-Cookie': `${COOKIE}=${login}; Path=/; HttpOnly; SameSite=Lax` });
  }

  // 302 back to the redirect URI: with a one-time code when a user approved, else access_denied.
  decide(res, p, user, headers = {}) {
    const target = new URL(p.redirect_uri);
    if (user) {
      this.state.grant(p.client_id, user.id, p.scopes);
      const code = rand.token(30);
      this.state.codes.set(code, {
        clientId: p.client_id, userId: user.id, scopes: p.scopes, redirectUri: p.redirect_uri,
        expiresAt: Date.now() + this.sim.config.codeLifetime * 1000,
      });
      target.searchParams.set('code', code);
      target.searchParams.set('scope', p.scopes.join(' '));
      this.sim.log.info('authorization approved', { login: user.login, client_id: p.client_id, scopes: p.scopes });
    } else {
      target.searchParams.set('error', 'access_denied');
      target.searchParams.set('error_description', 'The user denied you access');
      this.sim.log.info('authorization denied', { client_id: p.client_id });
    }
    if (p.state !== undefined) target.searchParams.set('state', p.state);
    res.writeHead(302, { Location: target.toString(), 'Content-Length': 0, ...headers });
    res.end();
  }

  consentPage(p, problem = '') {
    const hidden = ['client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'force_verify']
      .filter((k) => p[k] !== undefined)
      .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(p[k])}">`).join('');
    const users = [...this.state.users.values()].map((u, i) => `<label><input type="radio" name="login" value="${escapeHtml(u.login)}"${i === 0 ? ' checked' : ''}> ${escapeHtml(u.display_name)}</label>`).join('<br>');
    const scopes = p.scopes.length ? p.scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join('') : '<li>(no scopes: identity only)</li>';
    return `<!doctype html><html><head><meta charset="utf-8"><title>Authorize (twitch-sim)</title>
<style>body{background:#0e0e10;color:#efeff1;font:15px system-ui,sans-serif;max-width:28em;margin:3em auto}
button{background:#9147ff;color:#fff;border:0;padding:.6em 1.2em;border-radius:4px;margin-right:.5em}
button[value=deny]{background:#3a3a3d}input[type=text]{background:#18181b;color:#efeff1;border:1px solid #555;padding:.4em}
.problem{color:#ff8280}</style></head><body>
<h1>Authorize ${escapeHtml(p.client_id)}</h1>
<p>This application (simulated Twitch) asks for:</p><ul>${scopes}</ul>
${problem ? `<p class="problem">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="authorize">${hidden}
<p>Continue as:</p><p>${users || '(no users yet)'}</p>
<p><label>or a new user: <input type="text" name="new_login" placeholder="login"></label></p>
<button name="decision" value="approve">Authorize</button><button name="decision" value="deny">Cancel</button>
</form></body></html>`;
  }

  // --- /token ----------------------------------------------------------------------------------
  // What is wrong with a /token request's grant type or client credentials, or null.
  tokenProblem(f) {
    if (!f.grant_type) return [400, 'missing grant_type'];
    if (!GRANTS[f.grant_type]) return [400, 'unsupported grant_type'];
    const app = this.state.apps.get(f.client_id);
    if (!app) return [400, 'invalid client'];
    if (!f.client_secret) return [400, 'missing client secret'];
    if (f.client_secret !== app.secret) return [403, 'invalid client secret'];
    return null;
  }

  token(res, f) {
    const problem = this.tokenProblem(f);
    if (problem) oauthError(res, ...problem);
    else this[GRANTS[f.grant_type]](res, f);
  }

  userTokenAnswer(res, clientId, userId, scopes, grant) {
    const t = this.state.issueUserToken(clientId, userId, scopes, grant);
    sendJson(res, 200, { access_token: t.access, expires_in: t.expiresIn, refresh_token: t.refresh, scope: scopes, token_type: 'bearer' });
  }

  codeGrant(res, f) {
    const code = this.state.codes.get(f.code ?? '');
    if (!code || code.clientId !== f.client_id) return oauthError(res, 400, 'Invalid authorization code');
    this.state.codes.delete(f.code); // one use, whatever the outcome
    if (code.expiresAt <= Date.now() || !this.state.users.has(code.userId)) return oauthError(res, 400, 'Invalid authorization code');
    if (f.redirect_uri !== code.redirectUri) return oauthError(res, 400, 'Parameter redirect_uri does not match registered URI');
    return this.userTokenAnswer(res, code.clientId, code.userId, code.scopes, 'authorization_code');
  }

  // Refresh tokens rotate: the one used becomes invalid.
  refreshGrant(res, f) {
    const r = this.state.refreshTokens.get(f.refresh_token ?? '');
    if (!r || !r.valid || r.clientId !== f.client_id || !this.state.users.has(r.userId)) {
      return sendJson(res, 400, { error: 'Bad Request', status: 400, message: 'Invalid refresh token' });
    }
    r.valid = false;
    return this.userTokenAnswer(res, r.clientId, r.userId, r.scopes, 'refresh_token');
  }

  appGrant(res, f) {
    const t = this.state.issueAppToken(f.client_id);
    sendJson(res, 200, { access_token: t.access, expires_in: t.expiresIn, token_type: 'bearer' });
  }

  // --- /validate and /revoke -------------------------------------------------------------------
  validate(req, res) {
    const header = req.headers.authorization;
    if (!header) return oauthError(res, 401, 'missing authorization token');
    const m = /^(?:OAuth|Bearer)\s+(\S+)$/i.exec(header);
    const t = m && this.state.validToken(m[1]);
    if (!t) return oauthError(res, 401, 'invalid access token');
    const expiresIn = Math.max(0, Math.floor((t.expiresAt - Date.now()) / 1000));
    if (t.kind === 'app') return sendJson(res, 200, { client_id: t.clientId, scopes: [], expires_in: expiresIn });
    const user = this.state.users.get(t.userId);
    return sendJson(res, 200, { client_id: t.clientId, login: user.login, scopes: t.scopes, user_id: user.id, expires_in: expiresIn });
  }

  revoke(res, f) {
    if (!this.state.apps.has(f.client_id)) return oauthError(res, 404, 'client does not exist');
    const t = this.state.tokens.get(f.token ?? '');
    if (!t || t.clientId !== f.client_id || t.revoked) return oauthError(res, 400, 'Invalid token');
    t.revoked = true;
    return sendEmpty(res, 200);
  }
}

module.exports = { OAuth, LOGIN_PATTERN };
