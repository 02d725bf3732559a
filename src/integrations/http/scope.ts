import type { IncomingHttpHeaders } from 'node:http';
import { type Context, ContextSerializationError, copyContext } from '../../context/index.js';
import { invalidArgType, invalidArgValue } from '../../context/internal.js';
import {
  type DeserializeOptions,
  deserializeContext,
  type SigningKey,
} from '../../serialization/index.js';
import { boundUse, MAX_USE_LENGTH } from '../../serialization/internal.js';

/** Options of `requestScope()`, `requestScope.koa()` and the `requestScope.fastify` plugin. */
export interface RequestScopeOptions {
  /**
   * An incoming header carrying a signed json snapshot of the calling
   * service's context (made by `contextHeaders`), e.g. `'x-context'`. Each
   * request's context is then seeded from it. Needs `key`.
   */
  header?: string;
  /** The key(s) the snapshot must be signed with; a list accepts any of them (key rotation). */
  key?: SigningKey | readonly SigningKey[];
  /**
   * Refuses snapshots signed longer ago than this many milliseconds, or
   * stamped more than this far in the future. Default 5 minutes: a
   * captured header replays only that long. `Infinity` turns the check off.
   */
  maxAge?: number;
  /**
   * Narrows what the header's signature must be for: it is always bound to
   * the header's name (`http:x-context`); with `use: 'reports'` it must have
   * been signed for `http:x-context:reports` (`contextHeaders` with the same
   * `use`), so a header meant for one service is refused by another that
   * shares the key.
   */
  use?: string;
  /**
   * Also accept headers signed by a contextvars whose format names no use
   * (version 1), while a rolling upgrade has older senders left.
   */
  acceptUnbound?: boolean;
  /** Largest header accepted, in bytes (default 16 KiB). */
  maxBytes?: number;
  /** Deepest nesting accepted in one value (default 64). */
  maxDepth?: number;
  /**
   * What a request whose header is unsigned, forged, stale or malformed gets:
   * `'refuse'` (default) fails it with status 400 through the framework's
   * error handling; `'ignore'` serves it in a context not seeded from the header.
   */
  onInvalid?: 'refuse' | 'ignore';
}

/**
 * The error a refused header fails its request with: code
 * `ERR_CONTEXT_DESERIALIZE`, the reason as `cause`, and the status fields
 * Express, Koa and Fastify read.
 */
export type RefusedContextError = ContextSerializationError & {
  readonly status: 400;
  readonly statusCode: 400;
  readonly expose: true;
};

/** A request's context, and the error refusing its header, if it was refused. */
export interface OpenedScope {
  readonly context: Context;
  readonly refusal: RefusedContextError | undefined;
}

// RFC 9110 token characters: what Node accepts as a header name.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * How long a signed context header is accepted by default, in milliseconds:
 * a header is made for one request, sent at once, and a captured one must
 * not replay for long.
 */
const DEFAULT_HEADER_MAX_AGE = 5 * 60 * 1000;

/**
 * The use a context header is signed for: its name (lower case) under the
 * `http` prefix, narrowed by the user's `use`, so a header never verifies
 * as a job's snapshot, nor as another header.
 */
export function headerUse(name: string, use: unknown): string {
  const prefix = `http:${name}`;
  if (prefix.length > MAX_USE_LENGTH) {
    throw invalidArgValue(
      'options.header',
      `must be at most ${MAX_USE_LENGTH - 'http:'.length} characters: its signature is bound to the use 'http:<header>'`,
      name,
    );
  }
  return boundUse(prefix, use, 'options.use');
}

/** `header` as Node spells it in `req.headers` (lower case), or a TypeError naming `argument`. */
export function checkHeaderName(header: unknown, argument: string): string {
  if (typeof header !== 'string') throw invalidArgType(argument, 'of type string', header);
  if (!HEADER_NAME.test(header)) {
    throw invalidArgValue(argument, 'must be an HTTP header name', header);
  }
  return header.toLowerCase();
}

function checkOptions(options: unknown): {
  header: string | undefined;
  read: DeserializeOptions;
  ignoreInvalid: boolean;
} {
  if (options === undefined) return { header: undefined, read: {}, ignoreInvalid: false };
  if (typeof options !== 'object' || options === null) {
    throw invalidArgType('options', 'an object', options);
  }
  const { header, key, maxAge, maxBytes, maxDepth, onInvalid, use, acceptUnbound } =
    options as RequestScopeOptions;
  if (onInvalid !== undefined && onInvalid !== 'refuse' && onInvalid !== 'ignore') {
    throw invalidArgValue('options.onInvalid', "must be 'refuse' or 'ignore'", onInvalid);
  }
  if (header === undefined) {
    const given = { key, maxAge, maxBytes, maxDepth, onInvalid, use, acceptUnbound };
    for (const [name, value] of Object.entries(given)) {
      if (value !== undefined) {
        throw invalidArgValue(`options.${name}`, 'applies to a header: give options.header', value);
      }
    }
    return { header: undefined, read: {}, ignoreInvalid: false };
  }
  const name = checkHeaderName(header, 'options.header');
  if (key === undefined) {
    throw invalidArgValue(
      'options.key',
      'is required with options.header: a context arriving from another service must be signed',
      key,
    );
  }
  const read: DeserializeOptions = { key, use: headerUse(name, use) };
  // Infinity, which deserializeContext refuses, turns the check off here.
  if (maxAge !== Number.POSITIVE_INFINITY) read.maxAge = maxAge ?? DEFAULT_HEADER_MAX_AGE;
  if (acceptUnbound !== undefined) read.acceptUnbound = acceptUnbound;
  if (maxBytes !== undefined) read.maxBytes = maxBytes;
  if (maxDepth !== undefined) read.maxDepth = maxDepth;
  // Checks the reading options now, not at the first request: empty input
  // is refused only after the options were found usable.
  try {
    deserializeContext('', read);
  } catch (error) {
    if (!(error instanceof ContextSerializationError)) throw error;
  }
  return { header: name, read, ignoreInvalid: onInvalid === 'ignore' };
}

/**
 * Checks `options` and captures the current context; the returned function
 * opens a request: a fresh copy of the capture, seeded from the request's
 * context header when the options name one.
 */
export function requestScopeFor(options: unknown): (headers: IncomingHttpHeaders) => OpenedScope {
  const { header, read, ignoreInvalid } = checkOptions(options);
  const captured = copyContext();
  const fresh = (): OpenedScope => ({ context: captured.copy(), refusal: undefined });
  if (header === undefined) return fresh;

  // The arrived context is the base, so entries for names this service does
  // not declare are still forwarded; what was captured fills in the rest.
  const fillIn = (arrived: Context): void => {
    for (const [variable, value] of captured) {
      if (!arrived.has(variable)) variable.set(value);
    }
  };
  return (headers) => {
    const text = headers[header];
    if (text === undefined) return fresh();
    let arrived: Context;
    try {
      arrived = readHeader(text, read);
    } catch (cause) {
      if (!(cause instanceof ContextSerializationError)) throw cause;
      if (ignoreInvalid) return fresh();
      return { context: captured.copy(), refusal: refused(header, cause) };
    }
    if (captured.size > 0) arrived.run(fillIn, arrived);
    return { context: arrived, refusal: undefined };
  };
}

function readHeader(text: string | string[], read: DeserializeOptions): Context {
  if (typeof text !== 'string') {
    // Node joins repeated custom headers into one string; only a few known ones arrive as lists.
    throw new ContextSerializationError(
      'ERR_CONTEXT_DESERIALIZE',
      'Cannot deserialize the context: it arrived as a list of values',
    );
  }
  return deserializeContext(text, read);
}

function refused(header: string, cause: ContextSerializationError): RefusedContextError {
  const error = new ContextSerializationError(
    'ERR_CONTEXT_DESERIALIZE',
    `The ${header} header was refused: ${cause.message}`,
    { cause },
  );
  return Object.assign(error, { status: 400, statusCode: 400, expose: true } as const);
}
