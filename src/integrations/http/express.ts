import type { IncomingMessage, ServerResponse } from 'node:http';
import { emitResponseEventsIn } from './response.js';
import { type RequestScopeOptions, requestScopeFor } from './scope.js';

/** An Express or Connect middleware. */
export type ConnectMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/** `requestScope(options)`: the Express/Connect middleware. */
export function connectScope(options?: RequestScopeOptions): ConnectMiddleware {
  const open = requestScopeFor(options);
  return function requestScope(req, res, next) {
    const { context, refusal } = open(req.headers);
    emitResponseEventsIn(res, context);
    // Everything after this middleware runs in the request's context: later
    // middleware, the route, error handlers, and what they start.
    if (refusal === undefined) context.run(next);
    else context.run(next, refusal);
  };
}
