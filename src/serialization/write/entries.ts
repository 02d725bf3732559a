import { ContextSerializationError } from '../../context/index.js';
import {
  type ContextState,
  carriedEntries,
  carriedEntry,
  forEachPending,
  hamtForEach,
  isAnythingCarried,
  isLocalName,
  localDeclarations,
  type Pending,
  type PendingEntry,
  type VarState,
  viewOf,
} from '../../context/internal.js';
import { asciiJson } from '../ascii.js';
import { cannotSerialize } from '../errors.js';
import { isJsonExactPrimitive } from '../kinds.js';
import type { SnapshotFormat } from '../options.js';
import { Refusal } from '../walk.js';
import { ENTRY_FLAG, entryBytes, LIST_OVERHEAD, type Limits, primitiveBytes } from '../wire.js';
import { type EncodedValue, encodeValue } from './value.js';

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
  /**
   * `structured` only: the entries whose values are mutable objects, which
   * may change after this encoding (`at, value, carried, bytes` each: the
   * entry's index, the value it was encoded from, whether a carried store's,
   * what it counted); undefined when there are none. See `refreshEntries`.
   */
  readonly live: readonly unknown[] | undefined;
}

/** What claimed a name in a snapshot: a var, an entry that arrived, or a carried entry. */
type Owner = VarState | 'pending' | 'carried';

interface CachedEntries {
  readonly pending: Pending | null;
  /** `localDeclarations()` when encoded: a var declared `propagate: false` since drops a pending name. */
  readonly locals: number;
  readonly encoded: EncodedEntries;
}

// Whole-context encodings, keyed by the context's map. A map is immutable once
// viewed, and only contexts whose every value is a primitive or deep-frozen
// data (no codec) are cached, so an entry here never goes stale.
const contextCache: { [F in SnapshotFormat]: WeakMap<object, CachedEntries> } = {
  json: new WeakMap(),
  structured: new WeakMap(),
};

/** Each var's last json entry text with a primitive value (see `addKnownText`). */
const entryTexts = new WeakMap<VarState, { readonly value: unknown; readonly text: string }>();

function isStructuredPrimitive(value: unknown): boolean {
  const type = typeof value;
  return (
    (type !== 'object' && type !== 'function' && type !== 'symbol' && type !== 'bigint') ||
    value === null
  );
}

/**
 * Encodes the propagating entries of `ctx` (ordinary, and pending ones whose
 * name no `propagate: false` var here declares) and what
 * the calling code carries (stores, OpenTelemetry) for `format`, refusing
 * before anything leaves: a value that cannot be carried or exceeds `limits`
 * (naming the var or store and the path), a failing codec, or two entries
 * with one name. `withCarried: false` leaves the carried entries out, for a
 * caller that sends them apart (`encodeCarried`).
 */
export function encodeEntries(
  ctx: ContextState,
  format: SnapshotFormat,
  limits: Limits,
  withCarried = true,
): EncodedEntries {
  const { map, pending } = viewOf(ctx);
  const captured = withCarried ? captureCarried() : null;
  const locals = localDeclarations();
  const cached = map === null || captured !== null ? undefined : contextCache[format].get(map);
  if (
    cached !== undefined &&
    cached.pending === pending &&
    (pending === null || cached.locals === locals) &&
    fits(cached.encoded, limits)
  ) {
    return cached.encoded;
  }
  const builder = new EntriesBuilder(format, limits);
  hamtForEach(map, (key, value) => builder.addVar(key as VarState, value));
  forEachPending(pending, (name, entry) => {
    // What the calling code carries now replaces what arrived under that
    // name; a name a propagate: false var declares here never leaves, even
    // when it arrived before the var was declared.
    if (carriedEntry(name) === undefined && !isLocalName(name)) builder.addPending(name, entry);
  });
  for (const [name, entry] of captured ?? []) builder.addCarried(name, entry);
  const encoded = builder.finish();
  if (map !== null && captured === null && builder.cacheable) {
    contextCache[format].set(map, { pending, locals, encoded });
  }
  return encoded;
}

/**
 * What the calling code carries, encoded as structured entries (`name,
 * flags, payload` each), or null when it carries nothing: for a sender that
 * keeps a context's own entries apart from these, which change with every
 * call. Refused as `encodeEntries` refuses.
 */
export function encodeCarried(limits: Limits): EncodedEntries | null {
  const captured = captureCarried();
  if (captured === null) return null;
  const builder = new EntriesBuilder('structured', limits);
  for (const [name, entry] of captured) builder.addCarried(name, entry);
  return builder.finish();
}

/** What each carried entry holds in the code running now, by name; null for nothing. */
function captureCarried(): Map<string, PendingEntry> | null {
  if (!isAnythingCarried()) return null;
  let captured: Map<string, PendingEntry> | null = null;
  for (const carried of carriedEntries()) {
    let entry: PendingEntry | undefined;
    try {
      entry = carried.capture();
    } catch (cause) {
      throw cannotSerialize(carried.name, 'could not be read or encoded: it threw', {
        cause,
        carried: true,
      });
    }
    if (entry === undefined) continue;
    captured ??= new Map();
    captured.set(carried.name, entry);
  }
  return captured;
}

/**
 * `encoded` (structured) with its live entries encoded again from their
 * values as they are now, under the rules they were first encoded by: for a
 * sender that posts the entries later than it encoded them (a queued pool
 * task), so what leaves the thread is checked as it leaves. Throws what the
 * first encoding would have thrown (`ERR_CONTEXT_SERIALIZE`, naming the var
 * or store); `besides`: the bytes of what travels beside these entries,
 * counted against maxBytes with them. No codec runs again: what a codec gave
 * is a value like any other.
 */
export function refreshEntries(
  encoded: EncodedEntries,
  limits: Limits,
  besides = 0,
): EncodedEntries {
  const { live } = encoded;
  if (live === undefined) return encoded;
  const entries = encoded.entries.slice();
  let bytes = encoded.bytes;
  let depth = encoded.depth;
  // The live entry that grew most is named if the whole is now too large.
  let grown = 0;
  let growth = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < live.length; i += 4) {
    const at = live[i] as number;
    const name = entries[at] as string;
    const now = encodeEntryValue(name, live[i + 1], 'structured', limits, live[i + 2] as boolean);
    entries[at + 1] = now.flags | ((entries[at + 1] as number) & ENTRY_FLAG.coded);
    entries[at + 2] = now.payload;
    const added = entryBytes(name, now.bytes) - (live[i + 3] as number);
    bytes += added;
    if (added > growth) {
      growth = added;
      grown = i;
    }
    if (now.depth > depth) depth = now.depth;
  }
  if (bytes + besides > limits.maxBytes) {
    throw cannotSerialize(
      entries[live[grown] as number] as string,
      `makes the context larger than maxBytes (${limits.maxBytes})`,
      { carried: live[grown + 2] as boolean },
    );
  }
  return {
    entries,
    text: undefined,
    bytes,
    depth,
    largest: encoded.largest,
    cacheable: false,
    live,
  };
}

/** One entry's value encoded for `format`; a refusal names the var or store and the path. */
function encodeEntryValue(
  name: string,
  value: unknown,
  format: SnapshotFormat,
  limits: Limits,
  carried: boolean,
): EncodedValue {
  try {
    return encodeValue(value, format, limits);
  } catch (error) {
    if (error instanceof Refusal) {
      throw cannotSerialize(name, error.reason, {
        path: error.path,
        place: error.place,
        carried,
        needsCodec: error.needsCodec,
      });
    }
    throw error;
  }
}

function fits(encoded: EncodedEntries, limits: Limits): boolean {
  return encoded.bytes <= limits.maxBytes && encoded.depth <= limits.maxDepth;
}

class EntriesBuilder {
  readonly entries: unknown[] = [];
  readonly texts: string[] = [];
  readonly owners = new Map<string, Owner>();
  bytes = LIST_OVERHEAD;
  depth = 0;
  cacheable = true;
  largest: string | undefined;
  largestBytes = -1;
  live: unknown[] | undefined;

  constructor(
    private readonly format: SnapshotFormat,
    private readonly limits: Limits,
  ) {}

  addVar(variable: VarState, value: unknown): void {
    if (!variable._propagate) return;
    const name = variable._name;
    this.claim(name, variable);
    if (
      this.format === 'json' &&
      variable._codec === undefined &&
      this.addKnownText(variable, value)
    ) {
      return;
    }
    let raw = value;
    let coded = 0;
    if (variable._codec !== undefined) {
      this.cacheable = false;
      coded = ENTRY_FLAG.coded;
      try {
        raw = variable._codec.encode(value);
      } catch (cause) {
        throw cannotSerialize(name, 'could not be encoded: its codec threw', { cause });
      }
    }
    this.add(name, raw, coded);
  }

  /**
   * A var's entry as json text, from the last time it was encoded with the
   * same primitive value: between two requests most vars keep their values.
   */
  private addKnownText(variable: VarState, value: unknown): boolean {
    let known = entryTexts.get(variable);
    if (known === undefined || !Object.is(known.value, value)) {
      if (!isJsonExactPrimitive(value)) return false;
      known = { value, text: `${asciiJson(variable._name)},0,${asciiJson(value)}` };
      entryTexts.set(variable, known);
    }
    this.entries.push(variable._name, 0, value);
    this.texts.push(known.text);
    this.account(variable._name, known.text.length + 1, 0);
    return true;
  }

  addPending(name: string, entry: PendingEntry): void {
    this.claim(name, 'pending');
    this.add(name, entry.value, entry.coded ? ENTRY_FLAG.coded : 0);
  }

  addCarried(name: string, entry: PendingEntry): void {
    this.claim(name, 'carried');
    this.add(name, entry.value, entry.coded ? ENTRY_FLAG.coded : 0, true);
  }

  private claim(name: string, owner: Owner): void {
    const other = this.owners.get(name);
    if (other !== undefined) {
      const both =
        owner === 'carried' && other !== 'carried'
          ? 'a propagating ContextVar and a carried store are both'
          : 'two propagating ContextVars are';
      throw new ContextSerializationError(
        'ERR_CONTEXT_SERIALIZE',
        `Cannot serialize the context: ${both} named '${name}' in it, and across threads a ` +
          'name must mean one thing',
        { varName: name },
      );
    }
    this.owners.set(name, owner);
  }

  private add(name: string, value: unknown, coded: number, carried = false): void {
    if (this.format === 'structured' && isStructuredPrimitive(value)) {
      // The common entry: no encoding, nothing to allocate.
      this.entries.push(name, coded, value);
      this.account(name, entryBytes(name, primitiveBytes(value)), 0, carried);
      return;
    }
    const encoded = encodeEntryValue(name, value, this.format, this.limits, carried);
    const live =
      typeof value === 'object' && value !== null && (encoded.flags & ENTRY_FLAG.frozen) === 0;
    if (live) this.cacheable = false;
    const flags = encoded.flags | coded;
    const at = this.entries.length;
    this.entries.push(name, flags, encoded.payload);
    if (encoded.text === undefined) {
      const bytes = entryBytes(name, encoded.bytes);
      if (live) {
        this.live ??= [];
        this.live.push(at, value, carried, bytes);
      }
      this.account(name, bytes, encoded.depth, carried);
    } else {
      const text = `${asciiJson(name)},${flags},${encoded.text}`;
      this.texts.push(text);
      // The text itself, and the comma that separates it from the next.
      this.account(name, text.length + 1, encoded.depth, carried);
    }
  }

  private account(name: string, bytes: number, depth: number, carried = false): void {
    this.bytes += bytes;
    if (bytes > this.largestBytes) {
      this.largestBytes = bytes;
      this.largest = name;
    }
    if (depth > this.depth) this.depth = depth;
    if (this.bytes > this.limits.maxBytes) {
      throw cannotSerialize(
        name,
        `makes the context larger than maxBytes (${this.limits.maxBytes})`,
        { carried },
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
      live: this.live,
    };
  }
}
