// Nothing a task returns kills its worker: a result structured clone refuses
// rejects that task alone, with ERR_TASK_RESULT naming where; tasks beside it
// on the same worker finish, and the worker serves the next task.
import { describe, expect, it } from 'vitest';
import { rejectionOf } from '../support/errors.js';
import { fixture, poolsFor } from './support.js';

const pool = poolsFor({
  filename: fixture('unsendable.mjs'),
  maxThreads: 1,
  minThreads: 1,
  concurrentTasksPerWorker: 2,
});

describe('a result structured clone refuses', () => {
  it.each([
    ['intl', 'at .format', 'NumberFormat'],
    ['finalization', 'at [0]', 'FinalizationRegistry'],
    ['detachedBuffer', 'at .nested.buffer', 'ArrayBuffer'],
    ['detachedView', 'at .view', 'Uint8Array'],
    ['port', 'at .port', 'MessagePort'],
    ['wasmMemory', 'at .get(', 'Memory'],
    ['instanceWithFunction', 'at .list[0]', 'Holder'],
  ])(
    '%s: rejects its task alone, naming the path; the worker lives on',
    async (kind, path, what) => {
      const shared = pool();
      const worker = await shared.run(undefined, { name: 'whoAmI' });
      const cell = new Int32Array(new SharedArrayBuffer(4));
      const bystander = shared.run({ cell }, { name: 'bystander' });
      const error = (await rejectionOf(shared.run({ kind }))) as Error;
      Atomics.store(cell, 0, 1);
      expect(error).toMatchObject({ name: 'ContextPoolError', code: 'ERR_TASK_RESULT' });
      expect(error.message).toContain(path);
      expect(error.message).toContain(what);
      expect(await bystander).toBe(worker);
      expect(await shared.run(undefined, { name: 'whoAmI' })).toBe(worker);
    },
  );
});
