// A private Redis for the example (and the queue tests and benchmark): Debian's
// redis-server on a unix socket in a fresh directory, with no TCP port and
// nothing saved to disk, stopped when asked or when this process exits.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether `redis-server` can be started on this machine. */
export const hasRedisServer = () => spawnSync('redis-server', ['--version']).status === 0;

/** How to get Redis, for the messages of a run without it. */
export const GET_REDIS =
  'install redis-server (Debian/Ubuntu: `apt-get install -y redis-server`; macOS: `brew install redis`)';

/**
 * Starts a redis-server; resolves once it accepts connections with
 * `{ path, stop() }`: connect with `{ path }` (ioredis, BullMQ's `connection`).
 */
export async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'contextvars-redis-'));
  const path = join(dir, 'redis.sock');
  const args = ['--port', '0', '--unixsocket', path, '--unixsocketperm', '700'];
  const child = spawn('redis-server', [...args, '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  await new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk) => {
      output += chunk;
      if (!output.includes('ready to accept connections')) return;
      child.stdout.off('data', onData).resume();
      resolve();
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${output}`)));
  });
  return {
    path,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise((resolve) => {
          child.once('exit', resolve);
          child.kill('SIGTERM');
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
