import { afterEach, describe, expect, it, vi } from 'vitest';
import { Context, type ContextSerializationError, ContextVar } from '../../src/index.js';
import { deserializeContext, serializeContext } from '../../src/serialization/index.js';
import { codeOf, thrownBy } from '../support/errors.js';

const tenant = new ContextVar<string>('signing_tenant');

function signedWith(key: string | Buffer, value = 'acme'): string {
  const ctx = new Context();
  ctx.run(() => tenant.set(value));
  return serializeContext(ctx, { format: 'json', key });
}

function reason(fn: () => unknown): string {
  const error = thrownBy(fn) as ContextSerializationError;
  expect(error.code).toBe('ERR_CONTEXT_DESERIALIZE');
  return error.message;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('signed json snapshots', () => {
  it('carry a time and an HMAC-SHA256 signature, and verify with the key', () => {
    const text = signedWith('k1');
    expect(text).toMatch(/^\{"v":2,"f":"j","t":\d+,"e":\[.*\],"s":"[A-Za-z0-9_-]{43}"\}$/);
    expect(deserializeContext(text, { key: 'k1' }).get(tenant)).toBe('acme');
  });

  it('accept any key of a list (rotation)', () => {
    const text = signedWith('old-key');
    expect(deserializeContext(text, { key: ['new-key', 'old-key'] }).get(tenant)).toBe('acme');
    expect(reason(() => deserializeContext(text, { key: ['new-key'] }))).toMatch(
      /signature does not match/,
    );
  });

  it('refuse unsigned input when a key is required, in either format', () => {
    const ctx = new Context();
    ctx.run(() => tenant.set('acme'));
    const unsigned = serializeContext(ctx, { format: 'json' });
    expect(reason(() => deserializeContext(unsigned, { key: 'k' }))).toMatch(/not signed/);
    expect(reason(() => deserializeContext(serializeContext(ctx), { key: 'k' }))).toMatch(
      /never signed/,
    );
  });

  it('refuse any change to the body or the signature', () => {
    const text = signedWith('k', 'acme');
    const forgedBody = text.replace('acme', 'evil');
    expect(reason(() => deserializeContext(forgedBody, { key: 'k' }))).toMatch(/does not match/);
    const sig = /"s":"([^"]+)"/.exec(text)?.[1] as string;
    const flipped = `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    expect(reason(() => deserializeContext(text.replace(sig, flipped), { key: 'k' }))).toMatch(
      /does not match/,
    );
    const otherTime = text.replace(/"t":\d+/, '"t":1');
    expect(reason(() => deserializeContext(otherTime, { key: 'k' }))).toMatch(/does not match/);
    // Dropping the signature makes it unsigned, which a key-holding receiver refuses.
    const stripped = text.replace(/,"s":"[^"]+"\}$/, '}');
    expect(reason(() => deserializeContext(stripped, { key: 'k' }))).toMatch(/not signed/);
  });

  it('refuse input signed with another key', () => {
    expect(reason(() => deserializeContext(signedWith('attacker'), { key: 'k' }))).toMatch(
      /does not match/,
    );
  });

  it('refuse input older than maxAge', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    const text = signedWith('k');
    vi.setSystemTime(1_000_000 + 59_000);
    expect(deserializeContext(text, { key: 'k', maxAge: 60_000 }).get(tenant)).toBe('acme');
    vi.setSystemTime(1_000_000 + 61_000);
    expect(reason(() => deserializeContext(text, { key: 'k', maxAge: 60_000 }))).toMatch(
      /older than maxAge/,
    );
  });

  it('can be read without a key, as trustworthy as their transport', () => {
    expect(deserializeContext(signedWith('k')).get(tenant)).toBe('acme');
  });

  it('are still refused when forged to look signed without a time', () => {
    const body = '{"v":1,"f":"j","e":[]}';
    const looksSigned = `${body.slice(0, -1)},"s":"${'A'.repeat(43)}"}`;
    expect(codeOf(() => deserializeContext(looksSigned))).toBe('ERR_CONTEXT_DESERIALIZE');
  });
});
