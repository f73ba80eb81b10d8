// A twurple 8 client run by twurple.test.js in its own process (twurple keeps 10-minute
// message-id timers that would hold the test process open). It talks to the simulator in
// twurple's mock-server mode (TWURPLE_MOCK_API_PORT) and prints one JSON line per observation.
//
//   node twurple-client.mjs ws    env CLIENT_ID CLIENT_SECRET ACCESS_TOKEN REFRESH_TOKEN SCOPES BROADCASTER_ID USER_ID
//   node twurple-client.mjs http  env CLIENT_ID CLIENT_SECRET BROADCASTER_ID WEBHOOK_PORT
import { ApiClient } from '@twurple/api';
import { AppTokenAuthProvider, RefreshingAuthProvider } from '@twurple/auth';
import { EventSubWsListener } from '@twurple/eventsub-ws';
import { EventSubHttpListener, ReverseProxyAdapter } from '@twurple/eventsub-http';

const env = process.env;
const logger = { minLevel: 'critical' };
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

async function websocket() {
  const authProvider = new RefreshingAuthProvider({ clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET });
  await authProvider.addUserForToken({
    accessToken: env.ACCESS_TOKEN, refreshToken: env.REFRESH_TOKEN, expiresIn: 3600, obtainmentTimestamp: Date.now(), scope: env.SCOPES.split(' '),
  });
  const listener = new EventSubWsListener({ apiClient: new ApiClient({ authProvider, logger }), logger });
  listener.onChannelChatMessage(env.BROADCASTER_ID, env.USER_ID, (e) => {
    out({ kind: 'event', messageText: e.messageText, chatterName: e.chatterName, broadcasterId: e.broadcasterId });
  });
  listener.start();
}

function webhook() {
  const port = Number(env.WEBHOOK_PORT);
  const apiClient = new ApiClient({ authProvider: new AppTokenAuthProvider(env.CLIENT_ID, env.CLIENT_SECRET), logger });
  const listener = new EventSubHttpListener({
    apiClient, logger, secret: 'twurple-webhook-secret-0123456789',
    adapter: new ReverseProxyAdapter({ hostName: `localhost:${port}`, port }),
  });
  listener.onVerify((ok) => out({ kind: 'verify', ok }));
  listener.onStreamOnline(env.BROADCASTER_ID, (e) => out({ kind: 'event', broadcasterName: e.broadcasterName, type: e.type }));
  listener.start();
}

if (process.argv[2] === 'ws') await websocket();
else webhook();
