// A private PostgreSQL for the tests and the benchmark: Debian's PostgreSQL
// (the `postgresql` package: /usr/lib/postgresql/<version>/bin), initialised
// in a fresh directory and listening on a unix socket there only (no TCP),
// stopped by pid when asked or when this process exits, its directory
// removed. PostgreSQL refuses to run as root: as root, initdb and the server
// run as the `postgres` user the package creates.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How to get PostgreSQL, for the messages of a run without it. */
export const GET_POSTGRES =
  'install PostgreSQL (Debian/Ubuntu: `apt-get install -y postgresql`; macOS: `brew install postgresql`)';

/** The folder of initdb and postgres: Debian's newest, else '' when they are on the PATH; undefined if none. */
function binDir() {
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const dir = join(debian, version, 'bin');
      if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
    }
  }
  return spawnSync('initdb', ['--version']).status === 0 ? '' : undefined;
}

const BIN = binDir();
const command = (name) => (BIN ? join(BIN, name) : name);

/** Whether a PostgreSQL server can be started on this machine. */
export const hasPostgres = () => BIN !== undefined;

/** The ids to run PostgreSQL as: none (this user) unless this process is root. */
function runAs() {
  if (process.getuid?.() !== 0) return {};
  const id = (flag) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const [uid, gid] = [id('-u'), id('-g')];
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error(
      'PostgreSQL refuses to run as root, and there is no `postgres` user to run it as ' +
        "(Debian's postgresql package creates one)",
    );
  }
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}

function initdb(dir, user) {
  const result = spawnSync(
    command('initdb'),
    ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'],
    { ...user, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
  );
  if (result.status !== 0) {
    throw new Error(`initdb failed (${result.status ?? result.error}):\n${result.stderr}`);
  }
}

/** Settings for a server that only tests use: no TCP, nothing forced to disk. */
const SERVER_SETTINGS = [
  'listen_addresses=',
  'fsync=off',
  'synchronous_commit=off',
  'full_page_writes=off',
  'max_connections=300',
];

/** Resolves once the server says it accepts connections; rejects if it exits first. */
function ready(child) {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk) => {
      output += chunk;
      if (!output.includes('database system is ready to accept connections')) return;
      child.stderr.off('data', onData).resume();
      resolve();
    };
    child.stderr.setEncoding('utf8').on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`postgres exited (${code}):\n${output}`)));
  });
}

/**
 * Starts a PostgreSQL server; resolves once it accepts connections with
 * `{ host, connection, url, stop() }`. `host` is the socket's folder, which
 * node-postgres takes as `host`; `connection` is a node-postgres config
 * (user `postgres`, database `postgres`, no password) and `url` the same as a
 * connection string.
 */
export async function startPostgres() {
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'contextvars-postgres-'));
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid);
  try {
    initdb(dir, user);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const settings = SERVER_SETTINGS.flatMap((setting) => ['-c', setting]);
  const child = spawn(command('postgres'), ['-D', join(dir, 'data'), '-k', dir, ...settings], {
    ...user,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  await ready(child).catch((error) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  const connection = { host: dir, user: 'postgres', database: 'postgres' };
  return {
    host: dir,
    connection,
    url: `postgres://postgres@/postgres?host=${encodeURIComponent(dir)}`,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        // SIGINT: PostgreSQL's fast shutdown (open sessions are ended).
        await new Promise((resolve) => {
          child.once('exit', resolve);
          child.kill('SIGINT');
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
