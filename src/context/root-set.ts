import { subscribe } from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import type { VarState } from './state.js';

/**
 * Makes a silent server mistake loud: a `set` that lands in the thread's root
 * context while an HTTP request is being served is shared by every request
 * that has no context of its own, so it leaks into later requests.
 *
 * Node publishes the start of every `http.Server` (and `https.Server`)
 * request and the finish of its response on diagnostics channels of this
 * thread; a response whose connection dies first never finishes, so its
 * `close` ends it instead. `ContextVar.set` asks only on its root-context
 * path, so a set in any other context pays nothing for this.
 */

const inFlight = new Set<ServerResponse>();
const warned = new WeakSet<VarState>();

interface ServerRequestMessage {
  readonly response: ServerResponse;
}

function requestStarted(message: unknown): void {
  const { response } = message as ServerRequestMessage;
  inFlight.add(response);
  response.on('close', responseClosed);
}

function responseFinished(message: unknown): void {
  inFlight.delete((message as ServerRequestMessage).response);
}

function responseClosed(this: ServerResponse): void {
  inFlight.delete(this);
}

subscribe('http.server.request.start', requestStarted);
subscribe('http.server.response.finish', responseFinished);

/** Called by `set` on the root context: warns once per var while a request is in flight. */
export function rootSet(variable: VarState): void {
  if (inFlight.size === 0 || warned.has(variable)) return;
  warned.add(variable);
  process.emitWarning(
    `ContextVar '${variable._name}' was set in the root context while an HTTP request was ` +
      'being served. The root context is shared by every request that does not run in a ' +
      'context of its own, so later requests will see this value. Give each request its own ' +
      'context: app.use(requestScope()) (Express, Connect), app.use(requestScope.koa()) or ' +
      "app.register(requestScope.fastify) from 'contextvars/http', or " +
      'http.createServer(bind(handler)). If this set is meant for the whole process, make it ' +
      'before the server starts.',
    { type: 'ContextVarsWarning', code: 'CONTEXTVARS_ROOT_SET' },
  );
}
