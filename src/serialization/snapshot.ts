import { type Context, ContextSerializationError, copyContext } from '../context/index.js';
import { checkContext } from '../context/internal.js';
import { cannotDeserialize } from './errors.js';
import {
  type CheckedDeserializeOptions,
  type CheckedSerializeOptions,
  checkDeserializeOptions,
  checkSerializeOptions,
  type DeserializeOptions,
  type SerializeOptions,
} from './options.js';
import { contextFromEntries } from './read/context.js';
import type { IncomingEntry } from './read/entries.js';
import { fromJson, fromStructured } from './read/envelope.js';
import { encodeEntries } from './write/entries.js';
import { type StructuredSnapshot, toJson, toStructured } from './write/envelope.js';

/** `serializeContext` with its options checked once, for callers that send often. */
export function snapshotWriter(
  options: SerializeOptions,
): (ctx?: Context) => StructuredSnapshot | string {
  const checked = checkSerializeOptions(options);
  return (ctx) => writeSnapshot(ctx, checked);
}

/** The snapshot of `ctx` (default: a copy of the current context) under checked options. */
export function writeSnapshot(
  ctx: Context | undefined,
  checked: CheckedSerializeOptions,
): StructuredSnapshot | string {
  const source = ctx === undefined ? copyContext() : checkContext(ctx, 'ctx');
  const encoded = encodeEntries(source, checked.format, checked.limits);
  return checked.format === 'json'
    ? toJson(encoded, checked.key, checked.use, Date.now, checked.limits)
    : toStructured(encoded);
}

/** `deserializeContext` with its options checked once, for callers that receive often. */
export function snapshotReader(options: DeserializeOptions): (data: unknown) => Context {
  const checked = checkDeserializeOptions(options);
  return (data) => readSnapshot(data, checked);
}

/** The Context a snapshot holds, under checked options. */
export function readSnapshot(data: unknown, checked: CheckedDeserializeOptions): Context {
  try {
    return contextFromEntries(entriesOf(data, checked));
  } catch (error) {
    if (error instanceof ContextSerializationError) throw error;
    // Input that runs code when read (a getter, a Proxy) and throws: bad input like any.
    throw cannotDeserialize('reading it threw', { cause: error });
  }
}

function entriesOf(data: unknown, checked: CheckedDeserializeOptions): IncomingEntry[] {
  if (typeof data === 'string') return fromJson(data, checked.limits.json, checked);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw cannotDeserialize(
      `a snapshot is a string (json) or a plain object (structured), not ${describeInput(data)}`,
    );
  }
  if (checked.keys.length > 0) {
    throw cannotDeserialize(
      'it is a structured snapshot, which is never signed, and a key is required',
    );
  }
  return fromStructured(data, checked.limits.structured);
}

function describeInput(data: unknown): string {
  if (data === null) return 'null';
  if (Array.isArray(data)) return 'an array';
  return typeof data === 'undefined' ? 'undefined' : `a ${typeof data}`;
}
