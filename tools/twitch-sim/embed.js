'use strict';
// Stub embeds standing in for player.twitch.tv and www.twitch.tv/embed/{channel}/chat: they apply
// Twitch's "parent" rule (bare host names; no scheme, port, path or IP address) and render a dark
// placeholder. The parents become the page's CSP frame-ancestors, as on Twitch.

const net = require('node:net');
const { sendHtml, escapeHtml } = require('./http-util');

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const CHANNEL = /^[a-z0-9_]{1,25}$/i;

const validParent = (p) => HOST_NAME.test(p) && net.isIP(p) === 0;

function page(title, body, parents) {
  const ancestors = parents.flatMap((p) => [`http://${p}:*`, `https://${p}:*`]).join(' ');
  return {
    html: `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>
html,body{margin:0;height:100%;background:#0e0e10;color:#efeff1;font:16px system-ui,sans-serif}
main{height:100%;display:flex;flex-direction:column;align-items:center;justify-content:center;text-align:center}
small{color:#adadb8}</style></head><body><main>${body}</main></body></html>`,
    headers: ancestors ? { 'Content-Security-Policy': `frame-ancestors ${ancestors}` } : {},
  };
}

class Embed {
  constructor(sim) {
    this.sim = sim;
  }

  // path is relative to /embed: "/player" or "/{channel}/chat".
  handle(req, res, path, url) {
    const chat = /^\/([^/]+)\/chat$/.exec(path);
    const channel = chat ? chat[1] : url.searchParams.get('channel');
    if (req.method !== 'GET' || (path !== '/player' && !chat)) {
      sendHtml(res, 404, page('Not found', '<p>Not found</p>', []).html);
      return;
    }
    const parents = url.searchParams.getAll('parent');
    let problem = null;
    if (parents.length === 0) problem = 'parent query string is missing';
    else if (!parents.every(validParent)) problem = 'parent query string value contains invalid domain name';
    else if (!channel || !CHANNEL.test(channel)) problem = 'channel is missing or invalid';
    if (problem) {
      sendHtml(res, 400, page('Twitch embed error', `<p>${escapeHtml(problem)}</p><small>Watch on twitch.tv instead (simulated)</small>`, []).html);
      return;
    }
    const user = this.sim.state.userByLogin(channel);
    const name = user ? user.display_name : channel;
    const live = user ? this.sim.state.streams.has(user.id) : false;
    const { html, headers } = chat
      ? page(`${name} chat`, `<p>Chat for ${escapeHtml(name)} (simulated)</p>`, parents)
      : page(`${name} player`, `<p>Live player for ${escapeHtml(name)} (simulated)</p><small>${live ? 'LIVE' : 'offline'}</small>`, parents);
    sendHtml(res, 200, html, headers);
  }
}

module.exports = { Embed };
