// The demo's logger: the pino recipe (docs/http.md, "Logs with pino"). Its mixin
// reads the request's vars on every line, where the line is written (here: in
// a worker thread), so nothing about the request is handed to the code that
// logs. Lines go to the main thread, as a log shipper would collect them.
import { parentPort } from 'node:worker_threads';
import pino from 'pino';
import { requestId, tenant, user } from './context.mjs';

export const log = pino(
  {
    base: undefined,
    timestamp: false,
    // Unset values (bare piscina's tasks run in no request's context) are left out.
    mixin: () => ({
      reqId: requestId.get(undefined),
      tenant: tenant.get(undefined),
      user: user.get(undefined),
    }),
  },
  { write: (line) => parentPort?.postMessage({ type: 'log', line: line.trimEnd() }) },
);
