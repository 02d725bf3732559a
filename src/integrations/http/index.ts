import { type ConnectMiddleware, connectScope } from './express.js';
import { type FastifyScopePlugin, fastifyScope } from './fastify.js';
import { type KoaMiddleware, koaScope } from './koa.js';
import type { RequestScopeOptions } from './scope.js';

export type { ConnectMiddleware } from './express.js';
export type {
  FastifyInstanceLike,
  FastifyReplyLike,
  FastifyRequestLike,
  FastifyScopePlugin,
} from './fastify.js';
export { type ContextHeadersOptions, contextHeaders } from './headers.js';
export type { KoaContextLike, KoaMiddleware } from './koa.js';
export type { ResponseLike } from './response.js';
export type { RefusedContextError, RequestScopeOptions } from './scope.js';

/** `requestScope` and its Koa and Fastify forms. */
export interface RequestScope {
  /**
   * An Express/Connect middleware: each request runs in a fresh copy of the
   * context current where `requestScope()` was called, seeded from the
   * `header` a calling service sent (see `contextHeaders`). Put it first.
   *
   * @example
   * app.use(requestScope());
   * app.use((req, res, next) => { requestId.set(req.get('x-request-id') ?? randomUUID()); next(); });
   */
  (options?: RequestScopeOptions): ConnectMiddleware;
  /**
   * The Koa middleware: each request runs in a fresh copy of the context
   * current where `requestScope.koa()` was called. Put it first.
   *
   * @example
   * app.use(requestScope.koa());
   */
  koa(options?: RequestScopeOptions): KoaMiddleware;
  /**
   * The Fastify plugin (it reaches every route, as if registered with
   * fastify-plugin): each request runs in a fresh copy of the context current
   * where the plugin runs, kept where Fastify resumes a request in another
   * async context (after reading a body, on errors, on response). Register it
   * before hooks that set vars.
   *
   * @example
   * await app.register(requestScope.fastify, { header: 'x-context', key });
   */
  readonly fastify: FastifyScopePlugin;
}

/**
 * Gives every request of a server its own context, so a `set` in one request
 * is never seen by another. See `RequestScope` for each framework.
 */
export const requestScope: RequestScope = Object.assign(connectScope, {
  koa: koaScope,
  fastify: fastifyScope,
});
