// Type-level tests of the public API: checked by `npm run typecheck` (tsc), which
// `npm test` runs. A wrong type fails the build, not a runtime assertion.
import { expectTypeOf } from 'vitest';
import {
  bind,
  type Context,
  ContextVar,
  copyContext,
  createTask,
  type LookupError,
  Token,
} from '../../src/index.js';

const requestId = new ContextVar<string>('request_id', { default: 'none' });
expectTypeOf(requestId.get()).toEqualTypeOf<string>();
expectTypeOf(requestId.get(42)).toEqualTypeOf<string | number>();
expectTypeOf(requestId.get(undefined)).toEqualTypeOf<string | undefined>();
expectTypeOf(requestId.name).toEqualTypeOf<string>();

const inferred = new ContextVar('count', { default: 0 });
expectTypeOf(inferred.get()).toEqualTypeOf<number>();

const token = requestId.set('r-7');
expectTypeOf(token).toEqualTypeOf<Token<string>>();
expectTypeOf(token.var).toEqualTypeOf<ContextVar<string>>();
expectTypeOf(token.oldValue).toEqualTypeOf<string | typeof Token.MISSING>();
expectTypeOf(requestId.reset).parameter(0).toEqualTypeOf<Token<string>>();

// @ts-expect-error a string var takes strings
requestId.set(1);
// @ts-expect-error the default must match the var's type
new ContextVar<string>('x', { default: 1 });
// @ts-expect-error tokens are made by set
new Token();
const decodesToString = { encode: (d: Date) => d.getTime(), decode: (raw: unknown) => String(raw) };
// @ts-expect-error a codec decodes to the var's type
new ContextVar<Date>('d', { codec: decodesToString });

const ctx = copyContext();
expectTypeOf(ctx).toEqualTypeOf<Context>();
expectTypeOf(ctx.run((a: number, b: string) => `${a}${b}`, 1, 'x')).toEqualTypeOf<string>();
// @ts-expect-error run checks the arguments against fn
ctx.run((a: number) => a, 'not a number');
expectTypeOf(ctx.get(requestId)).toEqualTypeOf<string | undefined>();
expectTypeOf(ctx.get(requestId, 0)).toEqualTypeOf<string | number>();
expectTypeOf(ctx.has(requestId)).toEqualTypeOf<boolean>();
expectTypeOf(ctx.size).toEqualTypeOf<number>();
expectTypeOf([...ctx]).toEqualTypeOf<[ContextVar<unknown>, unknown][]>();

expectTypeOf(createTask(async (n: number) => n * 2, 21)).toEqualTypeOf<Promise<number>>();
expectTypeOf(createTask(() => 'sync')).toEqualTypeOf<Promise<string>>();
// @ts-expect-error createTask checks the arguments against fn
createTask(async (n: number) => n, 'x');

const bound = bind((a: number, b: string): boolean => a > b.length);
expectTypeOf(bound).toEqualTypeOf<(this: unknown, a: number, b: string) => boolean>();

expectTypeOf<LookupError['code']>().toEqualTypeOf<'ERR_CONTEXT_VAR_NOT_SET'>();

// contextvars/serialization
import {
  type DeserializeOptions,
  deserializeContext,
  type StructuredSnapshot,
  serializeContext,
} from '../../src/serialization/index.js';

expectTypeOf(serializeContext()).toEqualTypeOf<StructuredSnapshot>();
expectTypeOf(serializeContext(ctx, { format: 'structured' })).toEqualTypeOf<StructuredSnapshot>();
expectTypeOf(serializeContext(ctx, { format: 'json', key: 'k' })).toEqualTypeOf<string>();
expectTypeOf(deserializeContext('{}')).toEqualTypeOf<Context>();
expectTypeOf<DeserializeOptions['key']>().toEqualTypeOf<
  | string
  | Uint8Array
  | import('node:crypto').KeyObject
  | readonly (string | Uint8Array | import('node:crypto').KeyObject)[]
  | undefined
>();
// @ts-expect-error the format is one of two names
serializeContext(ctx, { format: 'xml' });
