// examples/security/upgrade.mjs
import { contextTelemetry } from 'contextvars/bullmq';
import { requestScope } from 'contextvars/http';

// Step 1 of a key rotation: every service signs with the old key and accepts both.
const keys = ['the old key', 'the new key'];

// While a rolling upgrade leaves senders on a contextvars whose format names no
// use (format version 1), the readers accept their signed snapshots too.
const scope = requestScope({ header: 'x-context', key: keys, acceptUnbound: true });
const telemetry = contextTelemetry({ key: keys, acceptUnbound: true });

// ---- checks (not shown in docs/security.md) ----
const { strict: assert } = await import('node:assert');
const { createHmac } = await import('node:crypto');
const { deserializeContext } = await import('contextvars/serialization');
assert.equal(typeof scope, 'function');
assert.equal(typeof telemetry.contextManager.getMetadata, 'function');
// A signed version-1 text, as an older contextvars writes it.
const body = `{"v":1,"f":"j","t":${Date.now()},"e":["role",0,"admin"]}`;
const v1 = `${body.slice(0, -1)},"s":"${createHmac('sha256', keys[1]).update(body).digest('base64url')}"}`;
assert.throws(() => deserializeContext(v1, { key: keys }), /acceptUnbound/);
assert.equal(deserializeContext(v1, { key: keys, acceptUnbound: true }).size, 0); // 'role' is pending
console.log('ok: upgrade');
