// examples/security/headers.mjs
import { createServer } from 'node:http';
import { ContextVar, createTask } from 'contextvars';
import { contextHeaders, requestScope } from 'contextvars/http';

const tenant = new ContextVar('tenant', { default: 'none' });
// Both sides: the header is signed for 'http:x-context:reports'.
const link = { header: 'x-context', key: 'the shared key', use: 'reports' };

// The reports service. maxAge defaults to 5 minutes: an older header (or one
// stamped more than 5 minutes ahead) is refused with 400, like a forged one.
const scope = requestScope(link);
const server = createServer((req, res) =>
  scope(req, res, (error) => {
    res.statusCode = error ? 400 : 200;
    res.end(error ? error.message : `tenant ${tenant.get()}`);
  }),
);
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

// A caller, inside a request of its own.
const answer = await createTask(async () => {
  tenant.set('acme');
  const response = await fetch(url, { headers: contextHeaders(link) });
  return response.text();
});
console.log(answer); // tenant acme

// ---- checks (not shown in docs/security.md) ----
const { strict: assert } = await import('node:assert');
assert.equal(answer, 'tenant acme');
// A header signed with the same key for another use (here: no narrower use) is refused.
const other = await createTask(async () => {
  tenant.set('acme');
  const response = await fetch(url, { headers: contextHeaders({ ...link, use: undefined }) });
  return [response.status, await response.text()];
});
assert.equal(other[0], 400);
assert.match(
  other[1],
  /signed for another use, and this reader expects use "http:x-context:reports"/,
);
server.close();
console.log('ok: headers');
