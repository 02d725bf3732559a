import type { IncomingMessage } from 'node:http';
import { type RequestScopeOptions, requestScopeFor } from './scope.js';

/** What the Koa middleware reads of Koa's context. */
export interface KoaContextLike {
  readonly req: IncomingMessage;
}

/** A Koa middleware. */
export type KoaMiddleware = (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<unknown>;

/** `requestScope.koa(options)`: the Koa middleware. */
export function koaScope(options?: RequestScopeOptions): KoaMiddleware {
  const open = requestScopeFor(options);
  return function requestScope(ctx, next) {
    const { context, refusal } = open(ctx.req.headers);
    // A refusal rejects like any middleware error: Koa answers with its status.
    return refusal === undefined ? context.run(next) : Promise.reject(refusal);
  };
}
