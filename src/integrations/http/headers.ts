import type { Context } from '../../context/index.js';
import { invalidArgType, invalidArgValue } from '../../context/internal.js';
import { type SigningKey, serializeContext } from '../../serialization/index.js';
import { checkHeaderName, headerUse } from './scope.js';

/** Options of `contextHeaders()`. */
export interface ContextHeadersOptions {
  /** The header the receiving `requestScope({ header, key })` reads, e.g. `'x-context'`. */
  header: string;
  /** The signing key; given a list (as for key rotation in `requestScope`), the first one signs. */
  key: SigningKey | readonly SigningKey[];
  /**
   * Narrows the use the header is signed for (`http:<header>:<use>`): the
   * receiving `requestScope` must name the same `use`.
   */
  use?: string;
  /** The context to send; default: the current one. */
  context?: Context;
  /** Largest snapshot to send, in bytes (default 16 KiB, as the receiver's default). */
  maxBytes?: number;
  /** Deepest nesting to send in one value (default 64). */
  maxDepth?: number;
}

/**
 * Headers that carry the current context (its propagating vars) to another
 * service whose `requestScope({ header, key })` seeds each request from them:
 * `{ [header]: <signed json snapshot> }`, printable ASCII, ready for fetch,
 * undici or `http.request`. The signature is bound to the header's name
 * (and `use`, if given): it verifies as that header only, never as a job's
 * snapshot or another header.
 *
 * Throws `ContextSerializationError` `ERR_CONTEXT_SERIALIZE`, naming the var,
 * for a value that cannot travel or exceeds the limits.
 *
 * @example
 * await fetch(url, { headers: { ...contextHeaders({ header: 'x-context', key }) } });
 */
export function contextHeaders(options: ContextHeadersOptions): Record<string, string> {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgType('options', 'an object', options);
  }
  const { header, key, context, maxBytes, maxDepth, use } = options;
  const name = checkHeaderName(header, 'options.header');
  const bound = headerUse(name, use);
  const signingKey = Array.isArray(key) ? (key as readonly SigningKey[])[0] : key;
  if (signingKey === undefined) {
    throw invalidArgValue(
      'options.key',
      'must be a signing key, or a non-empty list of them (the first signs): a context sent to another service is signed',
      key,
    );
  }
  const text = serializeContext(context, {
    format: 'json',
    key: signingKey as SigningKey,
    use: bound,
    ...(maxBytes === undefined ? {} : { maxBytes }),
    ...(maxDepth === undefined ? {} : { maxDepth }),
  });
  return { [name]: text };
}
