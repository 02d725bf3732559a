import type { IncomingMessage, ServerResponse } from 'node:http';
import { emitResponseEventsIn } from './response.js';
import { type RequestScopeOptions, requestScopeFor } from './scope.js';

/** What the Koa middleware uses of Koa's context. */
export interface KoaContextLike {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  respond?: boolean | undefined;
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
    return context.run(() =>
      (refusal === undefined ? next() : Promise.reject(refusal)).catch((error: unknown) =>
        answerError(ctx, error),
      ),
    );
  };
}

/**
 * What Koa does with an error that leaves the middleware chain (its `error`
 * event, then the error response), done here, in the request's context: Koa
 * itself would do it after the chain returns, outside every middleware's
 * scope, so an error logger listening on the app would not see the request.
 * `respond = false` keeps Koa from answering a second time, as it never
 * does after an error.
 */
function answerError(ctx: KoaContextLike, error: unknown): void {
  ctx.respond = false;
  ctx.onerror(error as Error);
}
