'use strict';
// A throwaway PostgreSQL for Node tests, on loopback, in a temp directory of its own:
//
//   const pg = await startPostgres();      // initdb, start on a free port, create db "sev"
//   pg.uri                                 // postgresql://sev@127.0.0.1:PORT/sev
//   await pg.createDb('other')             // another database; returns its URI
//   await pg.query('SELECT 1')             // psql -At -c …, returns stdout (trimmed)
//   await pg.stop('immediate')             // pg_ctl stop -m immediate (or 'fast')
//   await pg.start()                       // start again: same port, same data
//   await pg.destroy()                     // stop (immediate) and remove the directory
//
// initdb refuses to run as root, so as root every server command runs as the `postgres`
// user (runuser) and the directory is chowned to it. The socket goes into the directory too,
// so `?host=<dir>` URIs work (pg.socketUri).
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { freePort } = require('./harness');

function pgBin() {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const bin = path.join(root, v, 'bin');
    if (fs.existsSync(path.join(bin, 'initdb'))) return bin;
  }
  throw new Error('PostgreSQL server binaries not found (apt-get install postgresql)');
}

function run(cmd, args, opts = {}) {
  const root = process.getuid && process.getuid() === 0;
  const [file, argv] = root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: opts.timeoutMs || 60000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(cmd)} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function startPostgres() {
  const bin = pgBin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sev-pg-'));
  if (process.getuid && process.getuid() === 0) {
    fs.chmodSync(dir, 0o755);
    await new Promise((resolve, reject) =>
      execFile('chown', ['postgres', dir], (e) => (e ? reject(e) : resolve())));
  }
  const data = path.join(dir, 'data');
  await run(path.join(bin, 'initdb'), ['-D', data, '-U', 'sev', '--auth=trust', '--locale=C', '-E', 'UTF8']);
  const port = await freePort();
  const pg = {
    dir,
    port,
    uri: `postgresql://sev@127.0.0.1:${port}/sev`,
    socketUri: `postgresql://sev@/sev?host=${dir}&port=${port}`,
    async start() {
      await run(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '30', '-o',
        `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c max_connections=200`, 'start']);
    },
    async stop(mode = 'fast') {
      await run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', mode, '-w', 'stop']);
    },
    async query(sql, db = 'sev') {
      return (await run(path.join(bin, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'sev', '-d', db,
        '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql])).trim();
    },
    async createDb(name) {
      await run(path.join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'sev', name]);
      return `postgresql://sev@127.0.0.1:${port}/${name}`;
    },
    async destroy() {
      try { await pg.stop('immediate'); } catch { /* already stopped */ }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await pg.start();
  await pg.createDb('sev');
  return pg;
}

module.exports = { startPostgres };
