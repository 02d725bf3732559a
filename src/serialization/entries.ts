import { Context, ContextSerializationError } from '../context/index.js';
import {
  type ContextState,
  declaredVars,
  decodeArrived,
  hamtEntries,
  type PendingEntry,
  shareMap,
  type VarState,
  writeEntry,
} from '../context/internal.js';
import { asciiJson } from './ascii.js';
import { CODED, type EncodedValue, encodeValue, FROZEN } from './encode-value.js';
import { Refusal } from './inspect.js';
import type { Limits, SnapshotFormat } from './options.js';

/** A context's propagating entries, encoded: `name, flags, payload` for each, flat. */
export interface EncodedEntries {
  readonly entries: readonly unknown[];
  /** `json` only: the same entries as JSON text, without the brackets. */
  readonly text: string | undefined;
  readonly bytes: number;
  readonly depth: number;
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

function serializeError(
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
  for (const [key, value] of hamtEntries(map)) builder.addVar(key as VarState, value);
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
    if (encoded.text !== undefined) this.texts.push(`${asciiJson(name)},${flags},${encoded.text}`);
    this.bytes += name.length + 6 + encoded.bytes;
    this.depth = Math.max(this.depth, encoded.depth);
    if (this.bytes > this.limits.maxBytes) {
      throw serializeError(
        name,
        `makes the context larger than maxBytes (${this.limits.maxBytes})`,
      );
    }
  }

  finish(): EncodedEntries {
    return Object.freeze({
      entries: Object.freeze(this.entries),
      text: this.format === 'json' ? this.texts.join(',') : undefined,
      bytes: this.bytes,
      depth: this.depth,
    });
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
  const ctx = new Context();
  const pending = new Map<string, PendingEntry>();
  const seen = new Set<string>();
  for (const { name, value, coded } of incoming) {
    if (seen.has(name))
      throw deserializeError(`The snapshot holds '${name}' twice`, { varName: name });
    seen.add(name);
    const vars = declaredVars(name);
    if (vars.length > 1) {
      throw deserializeError(
        `Cannot deserialize the context: ${vars.length} propagating ContextVars are named ` +
          `'${name}' in this thread, and across threads a name must mean one var`,
        { varName: name },
      );
    }
    const variable = vars[0];
    if (variable === undefined) {
      pending.set(name, { value, coded });
    } else {
      writeEntry(ctx, variable, coded ? decodeArrived(variable, value) : value, false);
    }
  }
  if (pending.size > 0) ctx._pending = pending;
  return ctx;
}
