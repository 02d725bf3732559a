// Type-level tests of ContextPool: checked by `npm run typecheck` (tsc).
import { expectTypeOf } from 'vitest';
import type { Context } from '../../src/index.js';
import { ContextPool, type WithContext } from '../../src/workers/index.js';

// piscina's generics: <Task, Result>.
const untyped = new ContextPool<string, number>({ filename: 'x.js' });
expectTypeOf(untyped.run('a')).toEqualTypeOf<Promise<number>>();
expectTypeOf(untyped.runInContext('a')).toEqualTypeOf<Promise<number>>();
expectTypeOf(untyped.runInContext('a', { returnContext: true })).toEqualTypeOf<
  Promise<WithContext<number>>
>();
// @ts-expect-error the task type is string
untyped.run(1);
expectTypeOf(new ContextPool().run(1)).toEqualTypeOf<Promise<unknown>>();

// Typed by the worker module: names checked, task and result inferred.
const typed = ContextPool.typed<typeof import('./fixtures/hash-worker.js')>({ filename: 'x.js' });
expectTypeOf(typed.run('text')).toEqualTypeOf<Promise<string>>();
expectTypeOf(typed.runInContext({ text: 't' }, { name: 'sha256' })).toEqualTypeOf<
  Promise<string>
>();
expectTypeOf(typed.runInContext(undefined, { name: 'noTask' })).toEqualTypeOf<Promise<number>>();
const written = typed.runInContext({ text: 't' }, { name: 'sha256', returnContext: true });
expectTypeOf(written).toEqualTypeOf<Promise<WithContext<string>>>();
expectTypeOf<Awaited<typeof written>['context']>().toEqualTypeOf<Context>();

// @ts-expect-error a misspelt export name
typed.runInContext({ text: 't' }, { name: 'sha265' });
// @ts-expect-error an export that is not a function
typed.run(undefined, { name: 'notAHandler' });
// @ts-expect-error the task of sha256 is { text }
typed.runInContext('t', { name: 'sha256' });
// @ts-expect-error the default export takes a string
typed.run(42);

// The rest of the pool is the same pool.
expectTypeOf(typed.close).toEqualTypeOf<ContextPool['close']>();
