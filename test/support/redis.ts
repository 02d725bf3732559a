// A real Redis for the queue tests: Debian's redis-server, started by the
// tests on a unix socket in a fresh directory (no TCP port, nothing saved)
// and stopped after. BullMQ runs Lua scripts: no mock can stand in for it.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/** Whether `redis-server` can be started on this machine. */
export const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

/** How to get Redis, for the messages of a run without it. */
export const GET_REDIS =
  'install it (Debian/Ubuntu: `apt-get install -y redis-server`; macOS: `brew install redis`) and run `npm test` again';

export interface RedisServer {
  /** The unix socket to connect to: ioredis and BullMQ take `{ path }`. */
  readonly path: string;
  stop(): Promise<void>;
}

/** Starts a private redis-server; resolves once it accepts connections. */
export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'contextvars-redis-'));
  const path = join(dir, 'redis.sock');
  const child = spawn(
    'redis-server',
    [
      ...['--port', '0', '--unixsocket', path, '--unixsocketperm', '700'],
      ...['--save', '', '--appendonly', 'no', '--dir', dir],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('ready to accept connections')) {
        child.stdout?.removeAllListeners('data').resume();
        resolve();
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${output}`)));
  });
  return {
    path,
    async stop() {
      process.off('exit', killOnExit);
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/**
 * One Redis for a test file: started before its tests, stopped after. The
 * returned getter gives the running server. Files call it only where
 * `hasRedisServer` (see `describeWithRedis`).
 */
export function redisForFile(): () => RedisServer {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (server === undefined) throw new Error('Redis is not running (beforeAll has not run)');
    return server;
  };
}
