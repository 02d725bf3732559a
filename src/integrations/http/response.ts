import type { Context } from '../../context/index.js';
import { runAsCallback } from '../../context/internal.js';

/** What the wrapper uses of a response: an EventEmitter's `emit`. */
export interface ResponseLike {
  emit(event: string | symbol, ...args: unknown[]): boolean;
}

/**
 * Makes `res` emit `finish` and `close` in `context`, so listeners a request
 * registers on its response (access logs, metrics) run in that request's
 * context. Node emits both from the connection's callbacks, whose context is
 * whatever wrote on the connection last: the request before on a pipelined
 * connection, or the root context where a framework writes the response
 * outside the scope (Koa). One wrapper per response, whatever the number of
 * listeners; other events are emitted as they were.
 */
export function emitResponseEventsIn(res: ResponseLike, context: Context): void {
  const emit = res.emit;
  res.emit = function emitInRequestContext(this: ResponseLike, event, ...args) {
    if (event !== 'finish' && event !== 'close') return emit.call(this, event, ...args);
    return runAsCallback(context, () => emit.call(this, event, ...args));
  };
}
