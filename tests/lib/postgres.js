'use strict';
// A throwaway PostgreSQL for Node tests, on loopback, in a temp directory of its own; the one
// way tests start one: scripts/pg-test.sh (also the unit-pg suite's) does the server work.
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
// user (runuser; pg-test.sh chowns the directory to it). The socket goes into the directory
// too, so `?host=<dir>` URIs work (pg.socketUri).
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ROOT } = require('./harness');

const PG_TEST = path.join(ROOT, 'scripts', 'pg-test.sh');

function pgBin() {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const bin = path.join(root, v, 'bin');
    if (fs.existsSync(path.join(bin, 'initdb'))) return bin;
  }
  throw new Error('PostgreSQL server binaries not found (apt-get install postgresql)');
}

function run(cmd, args, { asPostgres = false, timeoutMs = 60000 } = {}) {
  const root = asPostgres && process.getuid && process.getuid() === 0;
  const [file, argv] = root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(cmd)} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function startPostgres() {
  const bin = pgBin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sev-pg-'));
  const uri = (await run(PG_TEST, ['start', dir])).trim().split('\n')[0];
  const port = Number(new URL(uri).port);
  const client = (tool, args) => run(path.join(bin, tool), ['-h', '127.0.0.1', '-p', String(port), '-U', 'sev', ...args],
    { asPostgres: true });
  const pg = {
    dir,
    port,
    uri,
    socketUri: `postgresql://sev@/sev?host=${dir}&port=${port}`,
    start: () => run(PG_TEST, ['restart', dir]),
    stop: (mode = 'fast') => run(PG_TEST, ['stop', dir, mode]),
    async query(sql, db = 'sev') {
      return (await client('psql', ['-d', db, '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql])).trim();
    },
    async createDb(name) {
      await client('createdb', [name]);
      return `postgresql://sev@127.0.0.1:${port}/${name}`;
    },
    destroy: () => run(PG_TEST, ['destroy', dir]),
  };
  return pg;
}

module.exports = { startPostgres };
