// examples/security/signing.mjs
import { Context, ContextVar } from 'contextvars';
import { deserializeContext, serializeContext } from 'contextvars/serialization';

const role = new ContextVar('role');
const keys = ['the current key', 'the previous key']; // the first signs, any of them verifies

const ctx = new Context();
ctx.run(() => role.set('admin'));

// Signed for one use: the export service's requests, and nothing else.
const text = serializeContext(ctx, { format: 'json', key: keys[0], use: 'exports' });

const arrived = deserializeContext(text, { key: keys, use: 'exports', maxAge: 60_000 });
console.log(arrived.get(role)); // admin

try {
  deserializeContext(text, { key: keys, use: 'billing' }); // the same key, another use
} catch (error) {
  console.log(error.code, error.message);
  // ERR_CONTEXT_DESERIALIZE Cannot deserialize the context: it was signed for another use,
  // and this reader expects use "billing"
}

// Anyone who sees the text can read it: a signature protects integrity, not secrecy.
console.log(JSON.parse(text).e); // [ 'role', 0, 'admin' ]

// ---- checks (not shown in docs/security.md) ----
const { strict: assert } = await import('node:assert');
assert.equal(arrived.get(role), 'admin');
assert.throws(() => deserializeContext(text, { key: keys, use: 'billing' }), {
  code: 'ERR_CONTEXT_DESERIALIZE',
  message: /signed for another use, and this reader expects use "billing"/,
});
assert.throws(() => deserializeContext(text, { key: keys }), /signed for a use/);
assert.throws(() => deserializeContext(text, { key: 'another key', use: 'exports' }), /signature/);
console.log('ok: signing');
