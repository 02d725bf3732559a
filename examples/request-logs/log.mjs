// The pino recipe: one logger for the whole service, in every thread. Its
// mixin reads the request's vars on each line, so any code can log without
// being handed the request or a child logger.
import pino from 'pino';
import { requestId, tenant } from './context.mjs';

export const log = pino({
  // A request logger Fastify made (server.mjs) carries the request's id
  // itself; any other logger reads it from the context. Unset values
  // (outside any request) are left out of the line.
  mixin: (_fields, _level, logger) => ({
    reqId: logger.reqId ?? requestId.get(undefined),
    tenant: tenant.get(undefined),
  }),
});
