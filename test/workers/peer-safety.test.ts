// A peer thread is not trusted: nothing a worker or a comlink endpoint sends
// back may crash, hang or exhaust the caller; a malformed reply rejects that
// one call (issue 7, defects 2, 3, 4 and 11 through the pool and comlink).
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Context, ContextSerializationError, ContextVar } from '../../dist/index.js';
import { wrap } from '../../dist/workers/comlink.js';
import { rejectionOf } from '../support/errors.js';
import { heapAfterGc } from '../support/gc.js';
import { fixture, poolsFor } from './support.js';

const pool = poolsFor({ maxThreads: 1 });

/** A comlink peer that answers every call by throwing `records`, then, once, with 'fine'. */
function craftedPeer(replies: unknown[]) {
  const { port1, port2 } = new MessageChannel();
  port2.on('message', (request: { id?: string }) => {
    const records = replies.shift();
    const value =
      records === undefined
        ? { id: request.id, type: 'RAW', value: 'fine' }
        : {
            id: request.id,
            type: 'HANDLER',
            name: 'throw',
            value: { isError: false, value: { cvThrown: 1, r: records } },
          };
    port2.postMessage(value);
  });
  return { api: wrap<{ call(): Promise<string> }>(port1), close: () => port1.close() };
}

describe('a comlink peer answering with crafted thrown-value records', () => {
  it.each([
    ['an unknown record type', [[99]]],
    ['a view record that refers to itself', [['~view', ['Uint8Array', 0, 0, 0]]]],
    ['records that are not a list', { length: 1 }],
    ['a reference to a record that does not exist', [[1, [7]]]],
    ['a BigInt too long to parse in linear time', [[8, '7'.repeat(70_000)]]],
  ])('%s rejects that call only, with ERR_CONTEXT_DESERIALIZE', async (_label, records) => {
    const peer = craftedPeer([records]);
    try {
      const error = await rejectionOf(peer.api.call());
      expect(error).toBeInstanceOf(ContextSerializationError);
      expect((error as ContextSerializationError).code).toBe('ERR_CONTEXT_DESERIALIZE');
      // The caller and the proxy live on.
      expect(await peer.api.call()).toBe('fine');
    } finally {
      peer.close();
    }
  });
});

describe('a pool task that throws what is costly to rebuild', () => {
  it('an Error whose cause holds huge sparse arrays arrives without it, keeping what fits', async () => {
    const before = heapAfterGc();
    const error = await rejectionOf(
      pool().run(null, { filename: fixture('hostile-thrower.mjs'), name: 'sparseCause' }),
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('sparse cause');
    expect((error as { code?: string }).code).toBe('E_SPARSE');
    // Over the thrown-value limits (2^27 slots): the cause stays in the worker.
    expect('cause' in (error as Error)).toBe(false);
    expect(heapAfterGc() - before).toBeLessThan(64 * 1024 * 1024);
  });
});

describe('a class instance in a var sent to a worker', () => {
  const formatter = new ContextVar<unknown>('peer_formatter');

  it('is refused with ERR_CONTEXT_SERIALIZE naming the var and the class; the pool goes on', async () => {
    const workers = pool();
    const ctx = new Context();
    ctx.run(() => formatter.set({ money: new Intl.NumberFormat('en') }));
    const error = await rejectionOf(
      workers.runInContext('x', {
        context: ctx,
        filename: fixture('hostile-thrower.mjs'),
        name: 'echo',
      }),
    );
    expect(error).toBeInstanceOf(ContextSerializationError);
    expect((error as ContextSerializationError).code).toBe('ERR_CONTEXT_SERIALIZE');
    expect((error as ContextSerializationError).varName).toBe('peer_formatter');
    expect((error as Error).message).toContain('.money <Intl.NumberFormat>');
    expect(
      await workers.runInContext('still here', {
        filename: fixture('hostile-thrower.mjs'),
        name: 'echo',
      }),
    ).toBe('still here');
  });
});

describe('a task that throws what cannot be read', () => {
  it.each([
    ['an Error whose code getter throws a Symbol', 'unreadableCode', /unreadable code/],
    ['an Error whose message cannot be made a string', 'unprintableMessage', /could not be read/],
    ['a Proxy whose traps throw', 'trappedProxy', /could not be read/],
  ])(
    '%s rejects that task only; a bystander on the worker finishes',
    async (_label, name, message) => {
      const workers = pool({ concurrentTasksPerWorker: 4 });
      const options = { filename: fixture('hostile-thrower.mjs') };
      const bystander = workers.run('bystander', { ...options, name: 'slowEcho' });
      const error = await rejectionOf(workers.run(null, { ...options, name }));
      expect(error).toBeInstanceOf(Error);
      expect((error as { code?: unknown }).code).not.toBe('ERR_WORKER_EXITED');
      expect((error as Error).message).toMatch(message);
      expect(await bystander).toBe('bystander');
    },
  );

  it('own fields named as Error methods stay behind: the error still prints', async () => {
    const error = await rejectionOf(
      pool().run(null, { filename: fixture('hostile-thrower.mjs'), name: 'shadowingFields' }),
    );
    expect(String(error)).toBe('Error: shadowing');
    expect((error as { code?: string }).code).toBe('E');
  });

  it('an async result that cannot be cloned is ERR_TASK_RESULT, as a synchronous one is', async () => {
    const error = await rejectionOf(
      pool().run(null, { filename: fixture('hostile-thrower.mjs'), name: 'asyncFunctionResult' }),
    );
    expect((error as { code?: string }).code).toBe('ERR_TASK_RESULT');
    expect((error as Error).message).toMatch(/\.f is a function/);
  });
});
