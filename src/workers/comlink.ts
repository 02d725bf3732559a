/**
 * comlink with context: `wrap` and `expose` with comlink's names and
 * signatures; every proxied call runs, on the exposing side, inside a copy of
 * the caller's context at the time of the call. The rest of comlink is
 * re-exported unchanged, and comlink is imported by its bare name only, so
 * `Comlink.proxy` callbacks made with the user's own import keep working. No
 * global comlink handler is replaced: the context travels at the endpoint.
 */
import { MessagePort, Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeAdapter from 'comlink/dist/umd/node-adapter.js';
import { copyContext } from '../context/index.js';
import {
  contextFromEntries,
  decodeThrown,
  encodeEntries,
  encodeThrown,
  isThrownRecords,
  limitsFor,
  readEntries,
} from '../serialization/internal.js';

export type {
  Endpoint,
  Local,
  LocalObject,
  ProxyMarked,
  ProxyMethods,
  ProxyOrClone,
  Remote,
  RemoteObject,
  TransferHandler,
  UnproxyOrClone,
} from 'comlink';
// Named, not `export *`: re-exporting a CommonJS module with `export *` also
// re-exports its 'module.exports', which Node 24 then hands to require() in
// place of this module (plain comlink, without the context).
export {
  createEndpoint,
  finalizer,
  proxy,
  proxyMarker,
  releaseProxy,
  transfer,
  transferHandlers,
  windowEndpoint,
} from 'comlink';

/** Where the caller's snapshot rides on a comlink request message. */
const SNAPSHOT = '__contextvarsSnapshot';
/** The exposed object's hidden method that runs every APPLY, so thrown errors keep their fields. */
const DISPATCH = '__contextvarsApply';
/**
 * Requests that run the exposed object's code, and so carry the caller's
 * context. ENDPOINT and RELEASE run none; comlink sends RELEASE from
 * `releaseProxy` and its FinalizationRegistry without awaiting it, where a
 * context that cannot be serialized would be an unhandled rejection.
 */
const CALLS = new Set(['GET', 'SET', 'APPLY', 'CONSTRUCT']);
const LIMITS = limitsFor('structured', {});

type Listener = Parameters<Comlink.Endpoint['addEventListener']>[1];
type TransferList = Parameters<Comlink.Endpoint['postMessage']>[1];
type MessageLike = Record<string, unknown>;

// The adapter is CommonJS (`module.exports = nodeEndpoint`); its typings say `export default`.
const nodeEndpoint = nodeAdapter as unknown as (endpoint: Worker | MessagePort) => Comlink.Endpoint;

/** A comlink Endpoint, or a Node Worker / MessagePort (adapted with comlink's node adapter). */
export type ContextEndpoint = Comlink.Endpoint | Worker | MessagePort;

function asEndpoint(endpoint: ContextEndpoint): Comlink.Endpoint {
  return endpoint instanceof Worker || endpoint instanceof MessagePort
    ? nodeEndpoint(endpoint)
    : endpoint;
}

/**
 * `Comlink.wrap` over an endpoint that sends the caller's context with every
 * call. Errors the other side throws arrive with their code and other own
 * primitive properties.
 */
export function wrap<T>(endpoint: ContextEndpoint, target?: unknown): Comlink.Remote<T> {
  return Comlink.wrap<T>(contextualEndpoint(asEndpoint(endpoint), false), target);
}

/**
 * `Comlink.expose` over an endpoint whose every incoming call runs inside a
 * copy of the caller's context, as do the awaits and callbacks it starts.
 */
export function expose(
  object: unknown,
  endpoint: ContextEndpoint = globalThis as unknown as Comlink.Endpoint,
  allowedOrigins?: (string | RegExp)[],
): void {
  Comlink.expose(
    withDispatch(object),
    contextualEndpoint(asEndpoint(endpoint), true),
    allowedOrigins,
  );
}

function contextualEndpoint(endpoint: Comlink.Endpoint, exposing: boolean): Comlink.Endpoint {
  const listeners = new WeakMap<object, (event: MessageEvent) => void>();
  return {
    postMessage(message: unknown, transfer?: TransferList) {
      endpoint.postMessage(isCall(message) ? withSnapshot(message) : message, transfer);
    },
    addEventListener(type: string, listener: Listener) {
      const adapted = (event: MessageEvent) => {
        const data = event.data as MessageLike | undefined;
        const entries = data?.[SNAPSHOT];
        if (!Array.isArray(entries)) {
          deliver(listener, exposing ? event : withThrownValue(event));
          return;
        }
        let entered = false;
        try {
          const ctx = contextFromEntries(readEntries(entries, LIMITS, 'size-and-depth'));
          // The call's context arrives here: a carried entry may refuse what arrived for it.
          ctx.run(() => {
            entered = true;
            deliver(listener, exposing ? throughDispatch(event) : event);
          });
        } catch (error) {
          if (entered) throw error;
          // The call cannot run in its context: it fails, as a call that threw would.
          endpoint.postMessage(thrownReply(data as MessageLike, error));
        }
      };
      listeners.set(listener, adapted);
      endpoint.addEventListener(type, adapted as Listener);
    },
    removeEventListener(type: string, listener: Listener) {
      const adapted = listeners.get(listener);
      if (adapted !== undefined) endpoint.removeEventListener(type, adapted as Listener);
    },
    ...(endpoint.start === undefined ? {} : { start: endpoint.start.bind(endpoint) }),
  };
}

function isCall(message: unknown): message is MessageLike {
  return (
    typeof message === 'object' &&
    message !== null &&
    CALLS.has((message as MessageLike).type as string)
  );
}

/** comlink's reply for a call that threw, carrying the error as records. */
function thrownReply(request: MessageLike, error: unknown): MessageLike {
  return {
    id: request.id,
    type: 'HANDLER',
    name: 'throw',
    value: { isError: false, value: encodeThrown(error) },
  };
}

function withSnapshot(message: MessageLike): MessageLike {
  return { ...message, [SNAPSHOT]: encodeEntries(copyContext(), 'structured', LIMITS).entries };
}

function deliver(listener: Listener, event: MessageEvent): void {
  if (typeof listener === 'function') (listener as (event: MessageEvent) => void)(event);
  else (listener as { handleEvent(event: MessageEvent): void }).handleEvent(event);
}

/** Sends every APPLY through the dispatcher: comlink itself would keep only message, name and stack. */
function throughDispatch(event: MessageEvent): MessageEvent {
  const data = event.data as MessageLike;
  if (data.type !== 'APPLY') return event;
  const path = (data.path as unknown[] | undefined) ?? [];
  const argumentList = (data.argumentList as unknown[] | undefined) ?? [];
  const rewritten = {
    ...data,
    path: [DISPATCH],
    argumentList: [{ type: 'RAW', value: path }, ...argumentList],
  };
  return { data: rewritten, origin: event.origin } as MessageEvent;
}

function withDispatch(object: unknown): unknown {
  const target = object as Record<PropertyKey, unknown>;
  const dispatch = (path: PropertyKey[], ...args: unknown[]) => {
    let parent: unknown = target;
    let fn: unknown = target;
    for (const [i, key] of path.entries()) {
      if (i === path.length - 1) parent = fn;
      fn = (fn as Record<PropertyKey, unknown>)[key];
    }
    if (path.length === 0) parent = target;
    try {
      const result = (fn as (...a: unknown[]) => unknown).apply(parent, args);
      return result instanceof Promise ? result.catch(throwCarried) : result;
    } catch (thrown) {
      return throwCarried(thrown);
    }
  };
  return new Proxy(target, {
    get: (t, key, receiver) => (key === DISPATCH ? dispatch : Reflect.get(t, key, receiver)),
  });
}

function throwCarried(thrown: unknown): never {
  throw encodeThrown(thrown);
}

/**
 * A thrown value that came back as records, rebuilt whole (its class restored
 * as the pool restores it) and handed to comlink as a non-error value, which
 * comlink throws as it is. Records that cannot be decoded reject this one
 * call with the decoding error.
 */
function withThrownValue(event: MessageEvent): MessageEvent {
  const data = event.data as MessageLike | undefined;
  const serialized = data?.value as { isError?: boolean; value?: unknown } | undefined;
  if (data?.type !== 'HANDLER' || data.name !== 'throw' || !isThrownRecords(serialized?.value))
    return event;
  let thrown: unknown;
  try {
    thrown = decodeThrown(serialized.value);
  } catch (error) {
    thrown = error;
  }
  return {
    data: { ...data, value: { isError: false, value: thrown } },
    origin: event.origin,
  } as MessageEvent;
}
