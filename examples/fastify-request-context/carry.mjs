// The recipe: @fastify/request-context's store travels with every call to a
// worker (contextvars/comlink, the pool) and with serializeContext. Import it
// in the server and in the worker module, so both register the same name.
import { asyncLocalStorage } from '@fastify/request-context';
import { carry } from 'contextvars';

/**
 * The store's keys that travel: plain data only. Everything else stays behind:
 * the request's logger (`log`, rebuilt on arrival below), and anything else a
 * hook put there (a request, a reply, a database client). Name yours here.
 */
const SENT = ['requestId', 'user', 'tenant'];

/**
 * Carries the plugin's store under one name on both sides. On arrival the
 * store is a fresh object with the sent keys and a `log` made from `logger`
 * (this thread's pino logger), bound to the request id, so
 * `requestContext.get('user')` and `requestContext.get('log').info(...)`
 * answer in the worker as in the route. Returns a function that unregisters it.
 */
export function carryRequestContext(logger) {
  return carry(asyncLocalStorage, {
    name: 'fastify.requestContext',
    codec: {
      encode(store) {
        const sent = {};
        for (const key of SENT) if (store[key] !== undefined) sent[key] = store[key];
        return sent;
      },
      decode(sent) {
        if (typeof sent !== 'object' || sent === null || Array.isArray(sent)) {
          throw new TypeError('expected the object of sent keys');
        }
        return { ...sent, log: logger.child({ reqId: sent.requestId }) };
      },
    },
  });
}
