import type { IncomingMessage, ServerResponse } from 'node:http';
import { runAsCallback } from '../../context/internal.js';
import { emitResponseEventsIn } from './response.js';
import { type RequestScopeOptions, requestScopeFor } from './scope.js';

/** What the Koa middleware uses of Koa's context. */
export interface KoaContextLike {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  onerror(error: Error): void;
}

/** A Koa middleware. */
export type KoaMiddleware = (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<unknown>;

/** `requestScope.koa(options)`: the Koa middleware. */
export function koaScope(options?: RequestScopeOptions): KoaMiddleware {
  const open = requestScopeFor(options);
  return function requestScope(ctx, next) {
    const { context, refusal } = open(ctx.req.headers);
    emitResponseEventsIn(ctx.res, context);
    // Koa handles an error that leaves the middleware chain (its `error`
    // event, then the error response) after the chain returns, outside every
    // middleware's scope: this request's handling runs in its context. The
    // error still travels up the chain, so middleware before the scope sees it.
    const onerror = ctx.onerror;
    ctx.onerror = (error) => runAsCallback(context, () => onerror.call(ctx, error));
    // A refusal rejects like any middleware error: Koa answers with its status.
    return refusal === undefined ? context.run(next) : Promise.reject(refusal);
  };
}
