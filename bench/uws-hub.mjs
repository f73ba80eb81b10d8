// bench/uws-hub.mjs: the benchmark's uWebSockets.js peer (uws-pack 20.0.8 = uWS.js v20).
// A pub/sub hub with SEV's URL shape and nothing else:
//   GET  /ws?streamer=X    WebSocket; the socket subscribes to topic X
//   POST /pub?streamer=X   body = the message; app.publish(X, body) as a text frame; 204
//   GET  /healthz          "ok" (readiness for run.sh)
// It verifies no signature and stores nothing: the strongest fair peer for fan-out.
// Usage: node bench/uws-hub.mjs PORT   (prints "listening PORT" once ready)
import * as uws from 'uws-pack';

const port = Number(process.argv[2] || 9001);
const app = uws.App();

app.ws('/ws', {
  compression: uws.DISABLED,
  maxPayloadLength: 16 * 1024,
  maxBackpressure: 1024 * 1024,
  idleTimeout: 0, // no server-side idle close (SEV and nchan keep idle subscribers too)
  upgrade: (res, req, context) => {
    const topic = req.getQuery('streamer') || '';
    res.upgrade({ topic }, req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
  },
  open: (ws) => { ws.subscribe(ws.getUserData().topic); },
  message: () => {},
});

app.post('/pub', (res, req) => {
  const topic = req.getQuery('streamer') || '';
  let chunks = [];
  let aborted = false;
  res.onAborted(() => { aborted = true; });
  res.onData((chunk, isLast) => {
    // chunk is only valid during this call: copy it
    chunks.push(Buffer.from(Buffer.from(chunk)));
    if (!isLast) return;
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    chunks = [];
    app.publish(topic, body, false, false);
    if (!aborted) res.cork(() => { res.writeStatus('204 No Content').end(); });
  });
});

app.get('/healthz', (res) => { res.end('ok'); });

app.listen('127.0.0.1', port, (token) => {
  if (!token) { console.error(`uws-hub: cannot listen on ${port}`); process.exit(1); }
  console.log(`listening ${port}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
