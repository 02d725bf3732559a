import { isJsonExactNumber, isPartialView, kindOf, type ValueKind } from './kinds.js';
import type { Limits } from './options.js';

/** What encoding a value needs, learned in one walk over it. */
export interface ValueFacts {
  /** A lower bound of the value's JSON length, compared with `maxBytes`. */
  bytes: number;
  /** Deepest nesting of containers (0 for a primitive). */
  depth: number;
  /**
   * Native structured clone would lose something: an Error's `code` and class,
   * or the privacy of a view's buffer beyond the view (it copies it whole).
   */
  needsRecords: boolean;
  /** JSON carries it exactly: plain data, no -0/NaN/undefined, no holes, no shared references. */
  jsonExact: boolean;
}

/** Why a value cannot leave the thread, and where inside it. */
export class Refusal extends Error {
  readonly segments: string[] = [];
  constructor(readonly reason: string) {
    super(reason);
  }
  get path(): string {
    return this.segments.join('');
  }
}

/**
 * Errors carry their own enumerable primitive properties (`code`, `errno`...);
 * objects hung on an error (a request, a socket) stay behind.
 */
export function isCarriedErrorProperty(key: string, value: unknown): boolean {
  if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause') return false;
  return (
    value === null ||
    (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')
  );
}

function readRefusal(key: string, error: unknown): Refusal {
  const refusal = new Refusal(`threw when read: ${String(error)}`);
  refusal.segments.push(keySegment(key));
  return refusal;
}

/** Reads a property; a getter that throws becomes a refusal naming the key. */
function readProperty(record: Record<string, unknown>, key: string): unknown {
  try {
    return record[key];
  } catch (error) {
    throw readRefusal(key, error);
  }
}

/** The size a primitive counts for, the same on both sides. */
export function primitiveBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'number':
      return 1;
    case 'bigint':
      return value.toString().length + 2;
    default:
      return 4;
  }
}

/** Whether JSON carries a primitive exactly (not undefined, BigInt, -0, NaN, ±Infinity). */
export function isJsonExactPrimitive(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return isJsonExactNumber(value);
    default:
      return value === null;
  }
}

function segmentOf(at: string | number): string {
  if (typeof at === 'number') return `[${at}]`;
  return at.startsWith('<') ? at : keySegment(at);
}

export function keySegment(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * Walks `value` once: refuses what cannot be carried (naming the path) or what
 * exceeds `limits`, and reports which encoding it needs. Work is bounded by
 * `limits.maxBytes` and by the number of distinct objects in the value.
 *
 * `trackShared` finds shared references (JSON would duplicate them) at the
 * cost of a Set of every object (about 40 ns each). Without it, the walk
 * first assumes a tree and finds cycles along the current path only: the
 * structured format needs no more, since structured clone keeps sharing
 * itself. A value with heavy sharing (a DAG) would be walked once per path,
 * so that fast walk gives up after FAST_WALK_OBJECTS objects, or as soon as
 * its count passes maxBytes, and the value is walked again, exactly.
 */
export function inspectValue(value: unknown, limits: Limits, trackShared: boolean): ValueFacts {
  if (!trackShared) {
    try {
      return new Walker(limits, false).facts(value);
    } catch (error) {
      if (!(error instanceof GiveUp)) throw error;
    }
  }
  return new Walker(limits, true).facts(value);
}

const FAST_WALK_OBJECTS = 50_000;

/** The fast walk cannot tell a large value from a heavily shared one: walk exactly. */
class GiveUp extends Error {}

/** Whether `for...in` over a plain object yields its own keys only (nobody made Object.prototype enumerable). */
function forInIsOwnKeys(): boolean {
  for (const _ in {}) return false;
  return true;
}

class Walker {
  bytes = 0;
  needsRecords = false;
  jsonExact = true;
  private readonly seen: Set<object> | undefined;
  private readonly path: object[] = [];
  private objects = 0;
  private readonly plainKeysByForIn = forInIsOwnKeys();

  constructor(
    private readonly limits: Limits,
    trackShared: boolean,
  ) {
    this.seen = trackShared ? new Set() : undefined;
  }

  facts(value: unknown): ValueFacts {
    const depth = this.visit(value, 0);
    return { bytes: this.bytes, depth, needsRecords: this.needsRecords, jsonExact: this.jsonExact };
  }

  private count(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes > this.limits.maxBytes) {
      if (this.seen === undefined) throw new GiveUp();
      throw new Refusal(`is larger than maxBytes (${this.limits.maxBytes})`);
    }
  }

  /** Returns the container depth below and including `value`. */
  visit(value: unknown, depth: number): number {
    const kind = kindOf(value);
    if (typeof kind === 'object') throw new Refusal(`is ${kind.refused}`);
    if (kind === 'primitive') {
      this.primitive(value);
      return 0;
    }
    const object = value as object;
    if (this.alreadyReached(object)) {
      // A shared reference or a cycle: kept as such by both formats, not by JSON.
      this.jsonExact = false;
      this.count(1);
      return 0;
    }
    if (depth >= this.limits.maxDepth) {
      throw new Refusal(`is nested deeper than maxDepth (${this.limits.maxDepth})`);
    }
    this.path.push(object);
    const below = this.container(kind, object, depth + 1);
    this.path.pop();
    return below;
  }

  private alreadyReached(object: object): boolean {
    if (this.seen === undefined) {
      if (++this.objects > FAST_WALK_OBJECTS) throw new GiveUp();
      return this.path.includes(object);
    }
    if (this.seen.has(object)) return true;
    this.seen.add(object);
    return false;
  }

  private container(kind: ValueKind, object: object, below: number): number {
    switch (kind) {
      case 'array':
        return 1 + this.array(object as unknown[], below);
      case 'object':
        return 1 + this.properties(object, below, this.plainKeysByForIn);
      case 'instance':
        this.jsonExact = false;
        return 1 + this.properties(object, below, false);
      case 'map':
        this.jsonExact = false;
        return 1 + this.map(object as Map<unknown, unknown>, below);
      case 'set':
        this.jsonExact = false;
        return 1 + this.set(object as Set<unknown>, below);
      case 'error':
        this.jsonExact = false;
        this.needsRecords = true;
        return 1 + this.error(object as Error, below);
      case 'date':
        this.jsonExact = false;
        this.count(26);
        return 1;
      case 'regexp':
        this.jsonExact = false;
        this.count((object as RegExp).source.length + 2);
        return 1;
      case 'view':
        if (isPartialView(object as ArrayBufferView)) this.needsRecords = true;
        return this.bytesOf((object as ArrayBufferView).byteLength);
      default:
        return this.bytesOf((object as ArrayBuffer).byteLength);
    }
  }

  /** ArrayBuffers and views travel as base64 of their bytes. */
  private bytesOf(byteLength: number): number {
    this.jsonExact = false;
    this.count(Math.ceil((byteLength * 4) / 3) + 2);
    return 1;
  }

  private primitive(value: unknown): void {
    if (!isJsonExactPrimitive(value)) this.jsonExact = false;
    this.count(primitiveBytes(value));
  }

  /**
   * Visits a child; on a refusal, prepends where the child sits. The segment is
   * built only then (`at` is a key, an index, or a label), never on the way in.
   */
  private child(value: unknown, depth: number, at: string | number): number {
    if (typeof value !== 'object' || value === null) {
      if (typeof value !== 'function' && typeof value !== 'symbol') {
        this.primitive(value);
        return 0;
      }
    }
    try {
      return this.visit(value, depth);
    } catch (error) {
      if (error instanceof Refusal) error.segments.unshift(segmentOf(at));
      throw error;
    }
  }

  private array(array: unknown[], depth: number): number {
    let deepest = 0;
    this.count(2);
    for (let i = 0; i < array.length; i++) {
      this.count(1);
      if (!(i in array)) {
        this.jsonExact = false;
        continue;
      }
      deepest = Math.max(deepest, this.child(array[i], depth, i));
    }
    return deepest;
  }

  private properties(object: object, depth: number, byForIn: boolean): number {
    let deepest = 0;
    this.count(2);
    const record = object as Record<string, unknown>;
    // for...in spares the key array Object.keys allocates, and V8 reads
    // `record[key]` through its enum cache when the read sits in the loop body.
    // It is used only when it yields exactly the own enumerable keys.
    if (byForIn) {
      let key = '';
      try {
        for (key in record) {
          this.count(key.length + 3);
          const below = this.child(record[key], depth, key);
          if (below > deepest) deepest = below;
        }
      } catch (error) {
        // A getter threw (a refusal or give-up from deeper down passes through as it is).
        throw error instanceof Refusal || error instanceof GiveUp ? error : readRefusal(key, error);
      }
    } else {
      for (const key of Object.keys(record)) {
        this.count(key.length + 3);
        deepest = Math.max(deepest, this.child(readProperty(record, key), depth, key));
      }
    }
    return deepest;
  }

  private map(map: Map<unknown, unknown>, depth: number): number {
    let deepest = 0;
    let i = 0;
    this.count(2);
    for (const [key, value] of map) {
      const n = i++;
      deepest = Math.max(
        deepest,
        this.child(key, depth, `<map key #${n}>`),
        this.child(value, depth, `<map value #${n}>`),
      );
    }
    return deepest;
  }

  private set(set: Set<unknown>, depth: number): number {
    let deepest = 0;
    let i = 0;
    this.count(2);
    for (const item of set) {
      const n = i++;
      deepest = Math.max(deepest, this.child(item, depth, `<set item #${n}>`));
    }
    return deepest;
  }

  private error(error: Error, depth: number): number {
    this.count(String(error.message).length + String(error.stack ?? '').length + 16);
    let deepest = 0;
    if ('cause' in error) deepest = this.child(error.cause, depth, 'cause');
    if (error instanceof AggregateError) {
      deepest = Math.max(deepest, this.child(error.errors, depth, 'errors'));
    }
    for (const key of Object.keys(error)) {
      const value = readProperty(error as unknown as Record<string, unknown>, key);
      if (isCarriedErrorProperty(key, value)) this.child(value, depth, key);
    }
    return deepest;
  }
}
