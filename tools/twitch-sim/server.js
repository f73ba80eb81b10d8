'use strict';
// Builds the simulator from a config: the state, every module, and one HTTP server that routes
// /oauth2, /helix, /ws, /sim and /embed (plus the twurple/twitch-cli mock aliases).

const http = require('node:http');
const { State } = require('./state');
const { OAuth } = require('./oauth');
const { Helix } = require('./helix');
const { EventSub } = require('./eventsub');
const { Conduits } = require('./conduits');
const { WsServer } = require('./ws-server');
const { Webhook } = require('./webhook');
const { Control } = require('./control');
const { Embed } = require('./embed');
const { Demo } = require('./demo');
const { sendJson } = require('./http-util');

// twurple 8 with TWURPLE_MOCK_API_PORT (the twitch-cli mock server layout) calls
// /mock/<helix path>, /eventsub/subscriptions and /auth/<oauth path>.
function canonicalPath(path) {
  if (path.startsWith('/mock/')) return '/helix' + path.slice('/mock'.length);
  if (path === '/eventsub/subscriptions') return '/helix' + path;
  if (path.startsWith('/auth/')) return '/oauth2' + path.slice('/auth'.length);
  return path;
}

function createSimulator(config, log) {
  const sim = { config, log };
  sim.state = new State(config);
  sim.oauth = new OAuth(sim);
  sim.helix = new Helix(sim);
  sim.eventsub = new EventSub(sim);
  sim.conduits = new Conduits(sim);
  sim.ws = new WsServer(sim);
  sim.webhook = new Webhook(sim);
  sim.control = new Control(sim);
  sim.embed = new Embed(sim);
  sim.demo = config.demo ? new Demo(sim) : null;

  const areas = [['/oauth2', sim.oauth], ['/helix', sim.helix], ['/sim', sim.control], ['/embed', sim.embed]];

  const server = http.createServer(async (req, res) => {
    const started = Date.now();
    const url = new URL(req.url, 'http://sim');
    const path = canonicalPath(url.pathname);
    res.on('finish', () => log.debug('request', { method: req.method, path: url.pathname, status: res.statusCode, ms: Date.now() - started }));
    try {
      const area = areas.find(([prefix]) => path.startsWith(prefix + '/'));
      if (area) await area[1].handle(req, res, path.slice(area[0].length), url);
      else sendJson(res, 404, { error: 'Not Found', status: 404, message: `no route for ${url.pathname}` });
    } catch (e) {
      const status = e.status ?? 500;
      if (status === 500) log.error('request failed', { method: req.method, path: url.pathname, error: e.stack });
      if (!res.headersSent) sendJson(res, status, { error: http.STATUS_CODES[status], status, message: status === 500 ? 'internal error' : e.message });
      else res.destroy();
    }
  });
  server.on('upgrade', (req, socket, head) => sim.ws.handleUpgrade(req, socket, head));

  // Resolves with the base URL once listening.
  sim.start = () => new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      const { port } = server.address();
      const host = ['0.0.0.0', '::'].includes(config.listen.host) ? '127.0.0.1' : config.listen.host;
      sim.state.baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      sim.state.addApp(config.clientId, config.clientSecret);
      for (const a of config.apps) sim.state.addApp(a.clientId, a.secret);
      if (config.autoApprove && !sim.state.userByLogin(config.autoApprove)) sim.state.createUser({ login: config.autoApprove.toLowerCase() });
      sim.demo?.start();
      resolve(sim.state.baseUrl);
    });
  });

  sim.stop = () => {
    sim.demo?.stop();
    sim.ws.close();
    server.closeAllConnections();
    server.close();
  };
  return sim;
}

module.exports = { createSimulator };
