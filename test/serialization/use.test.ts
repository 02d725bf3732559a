// What a signature means: made by a key holder, for one use, at one time.
// The use rides inside the signed text (format version 2); a signed
// version-1 text names none and passes only with acceptUnbound.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Context, type ContextSerializationError, ContextVar } from '../../src/index.js';
import {
  type DeserializeOptions,
  deserializeContext,
  serializeContext,
} from '../../src/serialization/index.js';
import { boundUse } from '../../src/serialization/internal.js';
import { codeOf, thrownBy } from '../support/errors.js';
import { signedText } from '../support/signed.js';

const role = new ContextVar<string>('use_role');
const key = 'the shared key';

function signed(use: string | undefined, value = 'admin'): string {
  const ctx = new Context();
  ctx.run(() => role.set(value));
  return serializeContext(ctx, { format: 'json', key, ...(use !== undefined && { use }) });
}

const read = (text: string, options: DeserializeOptions) =>
  deserializeContext(text, options).get(role);

function refusal(fn: () => unknown): string {
  const error = thrownBy(fn) as ContextSerializationError;
  expect(error.code).toBe('ERR_CONTEXT_DESERIALIZE');
  return error.message;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('a signature bound to its use', () => {
  it('is written in format version 2, the use inside the signed text', () => {
    const text = signed('reports');
    expect(text).toMatch(
      /^\{"v":2,"f":"j","t":\d+,"u":"reports","e":\[.*\],"s":"[A-Za-z0-9_-]{43}"\}$/,
    );
    expect(signed(undefined)).not.toContain('"u":');
  });

  it('a snapshot signed for one use verifies only for that use', () => {
    const text = signed('bullmq');
    expect(read(text, { key, use: 'bullmq' })).toBe('admin');
    const other = refusal(() => read(text, { key, use: 'http:x-context' }));
    expect(other).toMatch(/signed for another use/);
    expect(other).toContain('expects use "http:x-context"');
    expect(refusal(() => read(text, { key }))).toMatch(/signed for a use.*expects .* for none/);
  });

  it('a reader with a key and no use accepts only snapshots signed for no use', () => {
    const text = signed(undefined);
    expect(read(text, { key })).toBe('admin');
    expect(refusal(() => read(text, { key, use: 'bullmq' }))).toMatch(
      /signed for another use, and this reader expects use "bullmq"/,
    );
  });

  it('the use is covered by the MAC: changing it breaks the signature', () => {
    const text = signed('bullmq:tenant-b');
    const moved = text.replace('"u":"bullmq:tenant-b"', '"u":"bullmq:tenant-a"');
    expect(refusal(() => read(moved, { key, use: 'bullmq:tenant-a' }))).toMatch(
      /signature does not match/,
    );
    const dropped = text.replace(',"u":"bullmq:tenant-b"', '');
    expect(refusal(() => read(dropped, { key }))).toMatch(/signature does not match/);
  });

  it('exactly one text verifies: a use with quotes and backslashes, spelled one way only', () => {
    const use = 'a "quoted" \\ use';
    const text = signed(use);
    expect(read(text, { key, use })).toBe('admin');
    // The same use spelled with another JSON escape is another text: refused.
    const respelled = text.replace('"u":"a \\"', '"u":"\\u0061 \\"');
    expect(JSON.parse(respelled).u).toBe(use);
    expect(refusal(() => read(respelled, { key, use }))).toMatch(/signature does not match/);
  });

  it('a reader given no key reads signed snapshots of any use, unchecked (as its transport)', () => {
    expect(read(signed('bullmq'), {})).toBe('admin');
  });

  it('a use that is not 1 to 128 printable characters is refused as malformed input', () => {
    const unsigned = '{"v":2,"f":"j","u":5,"e":["use_role",0,"x"]}';
    expect(refusal(() => deserializeContext(unsigned))).toMatch(/its use is not/);
    const long = signedText(key, { v: 2, t: Date.now(), u: 'x'.repeat(129), e: [] });
    expect(refusal(() => deserializeContext(long, { key, use: 'x' }))).toMatch(/its use is not/);
  });
});

describe('format version 1 (no use) under a key', () => {
  const v1 = () => signedText(key, { v: 1, t: Date.now(), e: ['use_role', 0, 'admin'] });

  it('a keyed reader refuses signed version-1 input, which names no use', () => {
    expect(refusal(() => read(v1(), { key }))).toMatch(
      /signed in format version 1, which binds the signature to no use.*acceptUnbound: true/,
    );
    expect(refusal(() => read(v1(), { key, use: 'bullmq' }))).toMatch(/format version 1/);
  });

  it('acceptUnbound: true accepts it, whatever use the reader expects (rolling upgrades)', () => {
    expect(read(v1(), { key, acceptUnbound: true })).toBe('admin');
    expect(read(v1(), { key, use: 'bullmq', acceptUnbound: true })).toBe('admin');
    // Version 2 is still held to its use.
    expect(
      refusal(() => read(signed('other'), { key, use: 'bullmq', acceptUnbound: true })),
    ).toMatch(/another use/);
  });

  it('a version-1 text cannot be made from a version-2 one: the version is signed', () => {
    const downgraded = signed('bullmq').replace('"v":2', '"v":1');
    expect(refusal(() => read(downgraded, { key, acceptUnbound: true }))).toMatch(
      /signature does not match/,
    );
  });

  it('unsigned version-1 input is still read without a key', () => {
    expect(read('{"v":1,"f":"j","e":["use_role",0,"guest"]}', {})).toBe('guest');
  });
});

describe('maxAge', () => {
  it('refuses timestamps more than maxAge in the future too', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(10_000_000);
    const ahead = signed('jobs');
    vi.setSystemTime(10_000_000 - 30_000);
    expect(read(ahead, { key, use: 'jobs', maxAge: 60_000 })).toBe('admin');
    vi.setSystemTime(10_000_000 - 61_000);
    expect(refusal(() => read(ahead, { key, use: 'jobs', maxAge: 60_000 }))).toMatch(
      /stamped more than maxAge \(60000 ms\) in the future/,
    );
    // Without maxAge, time is not checked either way.
    expect(read(ahead, { key, use: 'jobs' })).toBe('admin');
  });

  it('refuses a text signed with an old time (crafted with the key)', () => {
    const old = signedText(key, { v: 2, t: Date.now() - 120_000, u: 'jobs', e: [] });
    expect(deserializeContext(old, { key, use: 'jobs' }).size).toBe(0);
    expect(refusal(() => deserializeContext(old, { key, use: 'jobs', maxAge: 60_000 }))).toMatch(
      /older than maxAge/,
    );
  });
});

describe('use and acceptUnbound options', () => {
  const ctx = new Context();

  it('use without key is refused, on both sides', () => {
    expect(codeOf(() => serializeContext(ctx, { format: 'json', use: 'x' }))).toBe(
      'ERR_INVALID_ARG_VALUE',
    );
    expect(() => serializeContext(ctx, { format: 'json', use: 'x' })).toThrow(
      /"options\.use" argument needs options\.key/,
    );
    expect(codeOf(() => deserializeContext('{}', { use: 'x' }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => serializeContext(ctx, { use: 'x' }))).toBe('ERR_INVALID_ARG_VALUE');
  });

  it.each([
    [42, 'ERR_INVALID_ARG_TYPE'],
    ['', 'ERR_INVALID_ARG_VALUE'],
    ['x'.repeat(129), 'ERR_INVALID_ARG_VALUE'],
    ['caf\u00e9', 'ERR_INVALID_ARG_VALUE'],
    ['line\nbreak', 'ERR_INVALID_ARG_VALUE'],
  ])('a use of %j is refused with %s, naming options.use', (use, code) => {
    for (const call of [
      () => serializeContext(ctx, { format: 'json', key, use: use as string }),
      () => deserializeContext('{}', { key, use: use as string }),
    ]) {
      expect(codeOf(call)).toBe(code);
      expect(call).toThrow(/options\.use/);
    }
  });

  it('accepts 1 to 128 printable ASCII characters', () => {
    const longest = '~'.repeat(128);
    expect(read(signed(longest), { key, use: longest })).toBe('admin');
    expect(read(signed(' '), { key, use: ' ' })).toBe('admin');
  });

  it('acceptUnbound must be a boolean, and needs a key', () => {
    expect(codeOf(() => deserializeContext('{}', { key, acceptUnbound: 1 as never }))).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    expect(codeOf(() => deserializeContext('{}', { acceptUnbound: true }))).toBe(
      'ERR_INVALID_ARG_VALUE',
    );
  });
});

describe('boundUse, the use of an integration', () => {
  it("is the integration's prefix, or prefix:suffix when the user narrows it", () => {
    expect(boundUse('bullmq', undefined, 'options.use')).toBe('bullmq');
    expect(boundUse('bullmq', 'tenant-a', 'options.use')).toBe('bullmq:tenant-a');
    expect(boundUse('http:x-context', 'reports', 'options.use')).toBe('http:x-context:reports');
  });

  it('refuses a suffix that would not make a use, naming the argument', () => {
    expect(codeOf(() => boundUse('bullmq', 7, 'options.use'))).toBe('ERR_INVALID_ARG_TYPE');
    for (const bad of ['', 'x'.repeat(128 - 'bullmq:'.length + 1), 'tab\there']) {
      expect(codeOf(() => boundUse('bullmq', bad, 'options.use'))).toBe('ERR_INVALID_ARG_VALUE');
      expect(() => boundUse('bullmq', bad, 'telemetry.use')).toThrow(/"telemetry\.use"/);
    }
    expect(boundUse('bullmq', 'x'.repeat(128 - 'bullmq:'.length), 'options.use')).toHaveLength(128);
  });
});
