import { type Context, ContextSerializationError } from '../context/index.js';
import {
  type ContextState,
  contextOf,
  declaredVar,
  decodeArrived,
  eraseEntry,
  hamtForEach,
  type PendingEntry,
  putEntry,
  putPending,
  shareMap,
  type VarState,
} from '../context/internal.js';
import { asciiJson } from './ascii.js';
import { CODED, type EncodedValue, encodeValue, FROZEN } from './encode-value.js';
import { primitiveBytes, Refusal } from './inspect.js';
import type { Limits, SnapshotFormat } from './options.js';

/** A context's propagating entries, encoded: `name, flags, payload` for each, flat. */
export interface EncodedEntries {
  readonly entries: readonly unknown[];
  /** `json` only: the same entries as JSON text, without the brackets. */
  readonly text: string | undefined;
  /** What the receiver counts against maxBytes (for `json`: the entries' text length). */
  readonly bytes: number;
  readonly depth: number;
  /** The var whose entry is largest: named when the whole is too large. */
  readonly largest: string | undefined;
  /** Every value is a primitive or deep-frozen data and no codec ran: the entries never go stale. */
  readonly cacheable: boolean;
}

interface CachedEntries {
  readonly pending: ContextState['_pending'];
  readonly encoded: EncodedEntries;
}

// Whole-context encodings, keyed by the context's map. A map is immutable once
// shared (`shareMap`), and only contexts whose every value is a primitive or
// deep-frozen data (no codec) are cached, so an entry here never goes stale.
const contextCache: { [F in SnapshotFormat]: WeakMap<object, CachedEntries> } = {
  json: new WeakMap(),
  structured: new WeakMap(),
};

function isStructuredPrimitive(value: unknown): boolean {
  const type = typeof value;
  return (type !== 'object' && type !== 'function' && type !== 'symbol') || value === null;
}

export function serializeError(
  name: string,
  reason: string,
  details: { path?: string; cause?: unknown } = {},
) {
  const where = details.path ? ` at ${details.path}` : '';
  return new ContextSerializationError(
    'ERR_CONTEXT_SERIALIZE',
    `Cannot serialize ContextVar '${name}': the value${where} ${reason}`,
    { varName: name, ...details },
  );
}

/**
 * Encodes the propagating entries of `ctx` (ordinary and pending) for
 * `format`, refusing before anything leaves: a value that cannot be carried
 * or exceeds `limits` (naming the var and path), a failing codec, or two
 * propagating vars with one name.
 */
export function encodeEntries(
  ctx: ContextState,
  format: SnapshotFormat,
  limits: Limits,
): EncodedEntries {
  shareMap(ctx);
  const map = ctx._map;
  const cached = map === null ? undefined : contextCache[format].get(map);
  if (cached !== undefined && cached.pending === ctx._pending && fits(cached.encoded, limits)) {
    return cached.encoded;
  }
  const builder = new EntriesBuilder(format, limits);
  hamtForEach(map, (key, value) => builder.addVar(key as VarState, value));
  for (const [name, entry] of ctx._pending ?? []) builder.addPending(name, entry);
  const encoded = builder.finish();
  if (map !== null && builder.cacheable) {
    contextCache[format].set(map, { pending: ctx._pending, encoded });
  }
  return encoded;
}

function fits(encoded: EncodedEntries, limits: Limits): boolean {
  return encoded.bytes <= limits.maxBytes && encoded.depth <= limits.maxDepth;
}

class EntriesBuilder {
  readonly entries: unknown[] = [];
  readonly texts: string[] = [];
  readonly owners = new Map<string, VarState | 'pending'>();
  bytes = 2;
  depth = 0;
  cacheable = true;
  largest: string | undefined;
  largestBytes = -1;

  constructor(
    private readonly format: SnapshotFormat,
    private readonly limits: Limits,
  ) {}

  addVar(variable: VarState, value: unknown): void {
    if (!variable._propagate) return;
    const name = variable._name;
    this.claim(name, variable);
    let raw = value;
    let coded = 0;
    if (variable._codec !== undefined) {
      this.cacheable = false;
      coded = CODED;
      try {
        raw = variable._codec.encode(value);
      } catch (cause) {
        throw serializeError(name, 'could not be encoded: its codec threw', { cause });
      }
    }
    this.add(name, raw, coded);
  }

  addPending(name: string, entry: PendingEntry): void {
    this.claim(name, 'pending');
    this.add(name, entry.value, entry.coded ? CODED : 0);
  }

  private claim(name: string, owner: VarState | 'pending'): void {
    if (this.owners.has(name)) {
      throw new ContextSerializationError(
        'ERR_CONTEXT_SERIALIZE',
        `Cannot serialize the context: two propagating ContextVars named '${name}' have values ` +
          'in it, and across threads a name must mean one var',
        { varName: name },
      );
    }
    this.owners.set(name, owner);
  }

  private add(name: string, value: unknown, coded: number): void {
    if (this.format === 'structured' && isStructuredPrimitive(value)) {
      // The common entry: no encoding, nothing to allocate.
      this.entries.push(name, coded, value);
      this.account(name, name.length + 6 + primitiveBytes(value), 0);
      return;
    }
    let encoded: EncodedValue;
    try {
      encoded = encodeValue(value, this.format, this.limits);
    } catch (error) {
      if (error instanceof Refusal) throw serializeError(name, error.reason, { path: error.path });
      throw error;
    }
    if (typeof value === 'object' && value !== null && (encoded.flags & FROZEN) === 0) {
      this.cacheable = false;
    }
    const flags = encoded.flags | coded;
    this.entries.push(name, flags, encoded.payload);
    if (encoded.text === undefined) {
      this.account(name, name.length + 6 + encoded.bytes, encoded.depth);
    } else {
      const text = `${asciiJson(name)},${flags},${encoded.text}`;
      this.texts.push(text);
      this.account(name, text.length + 1, encoded.depth);
    }
  }

  private account(name: string, bytes: number, depth: number): void {
    this.bytes += bytes;
    if (bytes > this.largestBytes) {
      this.largestBytes = bytes;
      this.largest = name;
    }
    if (depth > this.depth) this.depth = depth;
    if (this.bytes > this.limits.maxBytes) {
      throw serializeError(
        name,
        `makes the context larger than maxBytes (${this.limits.maxBytes})`,
      );
    }
  }

  finish(): EncodedEntries {
    // Not frozen: V8 clones a frozen array at half the speed. Typed readonly instead.
    return {
      entries: this.entries,
      text: this.format === 'json' ? this.texts.join(',') : undefined,
      bytes: this.bytes,
      depth: this.depth,
      largest: this.largest,
      cacheable: this.cacheable,
    };
  }
}

/** An entry as read from a snapshot: the value decoded from the wire, not yet by a codec. */
export interface IncomingEntry {
  readonly name: string;
  readonly value: unknown;
  readonly coded: boolean;
}

function deserializeError(message: string, details: { varName?: string; cause?: unknown } = {}) {
  return new ContextSerializationError('ERR_CONTEXT_DESERIALIZE', message, details);
}

/**
 * A new Context holding `incoming`: each name declared by exactly one
 * propagating var here becomes that var's entry (decoded by its codec if the
 * sender encoded it); undeclared names stay pending until a var of that name
 * touches the context; a name declared by two propagating vars is refused.
 */
export function contextFromEntries(incoming: readonly IncomingEntry[]): Context {
  const vars: VarState[] = [];
  const values: unknown[] = [];
  let pending: Map<string, PendingEntry> | null = null;
  const seen = new Set<string>();
  for (const entry of incoming) {
    if (seen.has(entry.name)) {
      throw deserializeError(`The snapshot holds '${entry.name}' twice`, { varName: entry.name });
    }
    seen.add(entry.name);
    const variable = receivingVar(entry.name);
    if (variable === undefined) {
      pending ??= new Map();
      pending.set(entry.name, { value: entry.value, coded: entry.coded });
    } else {
      vars.push(variable);
      values.push(arrivedValue(variable, entry));
    }
  }
  return contextOf(vars, values, pending);
}

/**
 * Applies the difference between two snapshots to a context built from the
 * first: `removed` names are taken out, then `changed` entries are set (or
 * stay pending) as `contextFromEntries` would set them. A name a var here
 * declares also loses any pending entry left from before the var existed.
 */
export function applyChanges(
  ctx: ContextState,
  changed: readonly IncomingEntry[],
  removed: readonly string[],
): void {
  for (const name of removed) {
    const variable = receivingVar(name);
    if (variable !== undefined) eraseEntry(ctx, variable);
    if (ctx._pending?.has(name)) putPending(ctx, name, undefined);
  }
  for (const entry of changed) {
    const variable = receivingVar(entry.name);
    if (variable === undefined) {
      putPending(ctx, entry.name, { value: entry.value, coded: entry.coded });
      continue;
    }
    if (ctx._pending?.has(entry.name)) putPending(ctx, entry.name, undefined);
    putEntry(ctx, variable, arrivedValue(variable, entry));
  }
}

/** The one propagating var declared here with `name`; refuses a name two of them declare. */
function receivingVar(name: string): VarState | undefined {
  const variable = declaredVar(name);
  if (typeof variable === 'number') {
    throw deserializeError(
      `Cannot deserialize the context: ${variable} propagating ContextVars are named ` +
        `'${name}' in this thread, and across threads a name must mean one var`,
      { varName: name },
    );
  }
  return variable;
}

function arrivedValue(variable: VarState, entry: IncomingEntry): unknown {
  return entry.coded ? decodeArrived(variable, entry.value) : entry.value;
}
