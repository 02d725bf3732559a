import { subscribe } from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
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

/** Responses in flight, by the connection they will be written to. */
const inFlight = new Map<Socket, Set<ServerResponse>>();
const warned = new WeakSet<VarState>();
/** Connections whose close is listened to: once each, however many requests they carry. */
const watched = new WeakSet<Socket>();

interface ServerRequestMessage {
  readonly response: ServerResponse;
  readonly socket: Socket;
}

function requestStarted(message: unknown): void {
  const { response, socket } = message as ServerRequestMessage;
  let responses = inFlight.get(socket);
  if (responses === undefined) {
    responses = new Set();
    inFlight.set(socket, responses);
  }
  if (!watched.has(socket)) {
    // A dead connection ends every response queued on it, including pipelined
    // ones that never got to write and so never close or finish themselves.
    watched.add(socket);
    socket.once('close', () => inFlight.delete(socket));
  }
  responses.add(response);
  response.once('close', () => ended(socket, response));
}

function responseFinished(message: unknown): void {
  const { response, socket } = message as ServerRequestMessage;
  ended(socket, response);
}

function ended(socket: Socket, response: ServerResponse): void {
  const responses = inFlight.get(socket);
  if (responses?.delete(response) && responses.size === 0) inFlight.delete(socket);
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
