import type { IncomingMessage } from 'node:http';
import type { Context } from '../../context/index.js';
import { runAsCallback } from '../../context/internal.js';
import { emitResponseEventsIn, type ResponseLike } from './response.js';
import { type RequestScopeOptions, requestScopeFor } from './scope.js';

/** What the plugin reads of a Fastify request. */
export interface FastifyRequestLike {
  readonly raw: IncomingMessage;
}

/** What the plugin reads of a Fastify reply. */
export interface FastifyReplyLike {
  readonly raw: ResponseLike;
}

type Done = (error?: Error) => void;

/** What the plugin uses of a Fastify instance. */
export interface FastifyInstanceLike {
  addHook(name: string, hook: (...args: never[]) => void): unknown;
}

/** The Fastify plugin: `app.register(requestScope.fastify, options)`. */
export type FastifyScopePlugin = (
  instance: FastifyInstanceLike,
  options: RequestScopeOptions,
  done: Done,
) => void;

// Fastify reads these from a plugin function (what fastify-plugin sets).
const SKIP_OVERRIDE = Symbol.for('skip-override');
const DISPLAY_NAME = Symbol.for('fastify.display-name');
const PLUGIN_META = Symbol.for('plugin-meta');
const NAME = 'contextvars-request-scope';

/**
 * `requestScope.fastify`. The context is made in `onRequest`; the rest of the
 * request follows in it (Fastify keeps the context while it reads a body).
 * Fastify goes on from another async context where a timer or a socket event
 * starts the work: a route's `handlerTimeout` (onError, then the error
 * handler, onSend, onResponse), the finish of a response that waited behind
 * another one on a pipelined connection (onResponse: it would run in the
 * other request's context), a client that goes away (onRequestAbort) and a
 * socket timeout (onTimeout). Those hooks enter the request's context again,
 * so the hooks after them, error handlers and Fastify's request logging run
 * in it. Entering again restores the same carried store objects (read once,
 * when the header arrived): what an earlier hook wrote to a store is there.
 */
export const fastifyScope: FastifyScopePlugin = Object.assign(
  function requestScope(
    instance: FastifyInstanceLike,
    options: RequestScopeOptions,
    done: Done,
  ): void {
    let open: ReturnType<typeof requestScopeFor>;
    try {
      open = requestScopeFor(options);
    } catch (error) {
      done(error as Error);
      return;
    }
    const contexts = new WeakMap<FastifyRequestLike, Context>();
    const reenter = (request: FastifyRequestLike, next: Done): void => {
      const context = contexts.get(request);
      if (context === undefined) next();
      else runAsCallback(context, next);
    };
    instance.addHook(
      'onRequest',
      (request: FastifyRequestLike, reply: FastifyReplyLike, next: Done) => {
        const { context, refusal } = open(request.raw.headers);
        contexts.set(request, context);
        emitResponseEventsIn(reply.raw, context);
        if (refusal === undefined) context.run(next);
        else context.run(next, refusal);
      },
    );
    const withReply = (request: FastifyRequestLike, _reply: unknown, next: Done) =>
      reenter(request, next);
    instance.addHook('onResponse', withReply);
    instance.addHook('onTimeout', withReply);
    instance.addHook('onRequestAbort', reenter);
    instance.addHook(
      'onError',
      (request: FastifyRequestLike, _reply: unknown, _error: unknown, next: Done) =>
        reenter(request, next),
    );
    done();
  },
  {
    [SKIP_OVERRIDE]: true,
    [DISPLAY_NAME]: NAME,
    [PLUGIN_META]: { name: NAME, fastify: '5.x' },
  },
);
