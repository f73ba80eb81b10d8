'use strict';
// Starts a throwaway redis-server on a free loopback port (no persistence) for the cluster
// tests; kill9() and restart() (same port) are for the failure tests.
const net = require('node:net');
const h = require('./harness');

function redisPing(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { got += d; if (got.includes('\r\n')) { s.destroy(); resolve(got.startsWith('+PONG')); } });
    s.on('error', () => resolve(false));
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
  });
}

async function startRedis(opts = {}) {
  const port = opts.port || (await h.freePort());
  const r = { port, url: `redis://127.0.0.1:${port}`, proc: null };
  r.start = async () => {
    r.proc = new h.Proc('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1',
      '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], {});
    await h.waitFor('redis to answer PING', async () => {
      if (r.proc.child.exitCode !== null) throw new Error(`redis-server exited: ${r.proc.output}`);
      return redisPing(port);
    }, 10000, 50);
  };
  r.kill9 = async () => { r.proc.child.kill('SIGKILL'); await r.proc.exited; };
  r.restart = () => r.start();
  r.stop = () => r.proc.stop();
  await r.start();
  return r;
}

module.exports = { startRedis, redisPing };
