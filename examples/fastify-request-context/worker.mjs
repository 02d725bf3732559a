// The worker thread: framework code here reads the request's store with
// @fastify/request-context's own accessor, as it would in a route.
import { setImmediate } from 'node:timers/promises';
import { parentPort } from 'node:worker_threads';
import { requestContext } from '@fastify/request-context';
import { expose } from 'contextvars/comlink';
import pino from 'pino';
import { carryRequestContext } from './carry.mjs';

carryRequestContext(pino({ name: 'worker', level: 'warn' }));

expose(
  {
    async describeRequest() {
      await setImmediate(); // the store survives awaits, as in a route
      const log = requestContext.get('log');
      log.debug('describing the request');
      return {
        requestId: requestContext.get('requestId'),
        user: requestContext.get('user'),
        tenant: requestContext.get('tenant'),
        logBindings: log.bindings(),
        keys: Object.keys(requestContext.getStore()).sort(),
      };
    },
  },
  parentPort,
);
