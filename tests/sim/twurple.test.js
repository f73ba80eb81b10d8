'use strict';
// A real third-party client against the simulator: twurple 8 in its mock-server mode
// (TWURPLE_MOCK_API_PORT: Helix at /mock/…, subscriptions at /eventsub/subscriptions, OAuth at
// /auth/…, EventSub at ws://127.0.0.1:PORT/ws). @twurple/eventsub-ws subscribes through the
// simulator and receives a triggered event; @twurple/eventsub-http verifies the simulator's
// webhook signatures (challenge and notification) on a loopback listener. The clients run in
// twurple-client.mjs, a child process.

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const { startSimAlone, waitFor, CLIENT_ID, CLIENT_SECRET } = require('./harness');

let sim;
let streamer;
let viewer;

test.before(async () => {
  sim = await startSimAlone(['--webhook-plain-http']);
  streamer = await sim.createUser('twstreamer');
  viewer = await sim.createUser('twviewer');
});
test.after(() => sim.stop());

// Starts the twurple client; .lines holds what it printed (JSON), .stop() ends it.
function twurple(mode, env) {
  const child = spawn(process.execPath, [path.join(__dirname, 'twurple-client.mjs'), mode], {
    env: { ...process.env, TWURPLE_MOCK_API_PORT: String(sim.port), CLIENT_ID, CLIENT_SECRET, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const client = { lines: [], stderr: '', stop: () => child.kill() };
  let buffer = '';
  child.stdout.on('data', (c) => {
    buffer += c;
    const parts = buffer.split('\n');
    buffer = parts.pop();
    for (const p of parts) client.lines.push(JSON.parse(p));
  });
  child.stderr.on('data', (c) => (client.stderr += c));
  return client;
}

const subscribed = (type) => waitFor(`twurple's ${type} subscription`, async () => (await sim.control('GET', '/subscriptions')).json.data.find((s) => s.type === type && s.status === 'enabled'), 15000);

test('@twurple/eventsub-ws: subscribes through the simulator and receives a chat message', async () => {
  const t = await sim.userToken('twviewer', ['user:read:chat']);
  const client = twurple('ws', {
    ACCESS_TOKEN: t.access_token, REFRESH_TOKEN: t.refresh_token, SCOPES: t.scope.join(' '), BROADCASTER_ID: streamer.id, USER_ID: viewer.id,
  });
  try {
    const sub = await subscribed('channel.chat.message');
    assert.equal(sub.transport.method, 'websocket');
    assert.equal(sub.user_id, viewer.id);
    const r = await sim.control('POST', '/trigger', { type: 'channel.chat.message', broadcaster: 'twstreamer', user: 'twviewer', message: 'hello from the simulator' });
    assert.equal(r.json.delivered, 1);
    const event = await waitFor(`twurple to receive the event ${client.stderr}`, () => client.lines.find((l) => l.kind === 'event'));
    assert.deepEqual(event, { kind: 'event', messageText: 'hello from the simulator', chatterName: 'twviewer', broadcasterId: streamer.id });
  } finally {
    client.stop();
  }
});

async function freePort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

test('@twurple/eventsub-http: its listener accepts the challenge and a notification signed by the simulator', async () => {
  const client = twurple('http', { BROADCASTER_ID: streamer.id, WEBHOOK_PORT: String(await freePort()) });
  try {
    const verify = await waitFor(`the challenge ${client.stderr}`, () => client.lines.find((l) => l.kind === 'verify'), 15000);
    assert.equal(verify.ok, true, 'twurple verified the signed challenge');
    await subscribed('stream.online');
    const r = await sim.control('POST', '/streams/twstreamer', { live: true });
    assert.equal(r.json.delivered, 1);
    const event = await waitFor('twurple to accept the notification', () => client.lines.find((l) => l.kind === 'event'));
    assert.deepEqual(event, { kind: 'event', broadcasterName: 'twstreamer', type: 'live' });
    const [delivery] = await sim.deliveries({ message_id: r.json.message_ids[0] });
    assert.equal(delivery.status, 202, 'twurple answers 202 once the signature checks out');
  } finally {
    client.stop();
  }
});
