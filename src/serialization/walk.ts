import { types } from 'node:util';
import {
  className,
  isDetached,
  isJsonExactPrimitive,
  isPartialView,
  kindOf,
  type ValueKind,
} from './kinds.js';
import {
  bigintDigits,
  bufferBytes,
  type Limits,
  MAX_BIGINT_DIGITS,
  primitiveBytes,
  RECORD_LIST_DEPTH,
  VALUE_BYTES,
} from './wire.js';

/**
 * What the walk is for, which decides what it accepts and how it counts:
 * - `send`: a context value leaving the thread. Class instances are refused
 *   (a codec or `propagate: false` is the remedy); a view counts its own
 *   bytes, which is what a partial view's records carry.
 * - `clone`: a task's arguments, result or thrown value, under structured
 *   clone's rules: class instances travel as plain objects.
 * - `arrived`: a payload as a receiver got it. A view counts its whole
 *   buffer, which is what a natively cloned view brings with it.
 */
export type WalkMode = 'send' | 'clone' | 'arrived';

/** What one walk learns of a value. */
export interface ValueShape {
  /** Its size under the wire's byte accounting. */
  readonly bytes: number;
  /** Deepest nesting of containers (0 for a primitive). */
  readonly depth: number;
  /**
   * Native structured clone would lose something: an Error's `code` and class,
   * or the privacy of a view's buffer beyond the view (it copies it whole).
   */
  readonly needsRecords: boolean;
  /** JSON carries it exactly: plain data, no -0/NaN/undefined, no holes, no shared references. */
  readonly jsonExact: boolean;
}

/** Why a value cannot be carried (or is over the limits), and where inside it. */
export class Refusal extends Error {
  readonly segments: string[] = [];
  /**
   * @param needsCodec what was refused could travel through a codec (a class
   *   instance): the error names the remedy for a var or for a store.
   */
  constructor(
    readonly reason: string,
    readonly needsCodec = false,
  ) {
    super(reason);
  }
  /** `.rows[3].owner <PgClient>`; `<PgClient>` for the value itself, named by its class; else empty for the value itself. */
  get path(): string {
    return this.segments.join('').trimStart();
  }
  /**
   * Where, for a message: ` at .rows[3].owner <PgClient>`; ` <PgClient>`
   * when the value itself is the class instance ("the value <PgClient> is a
   * class instance"); empty for the value itself otherwise.
   */
  get place(): string {
    const path = this.segments.join('');
    return path === '' || path.startsWith(' ') ? path : ` at ${path}`;
  }
}

/**
 * Errors carry their own enumerable primitive properties (`code`, `errno`...);
 * objects hung on an error (a request, a socket) stay behind.
 */
export function isCarriedErrorProperty(key: string, value: unknown): boolean {
  // Fields carried on their own, and names an Error inherits (toString, valueOf...):
  // an own `toString: 'x'` would make `String(error)` throw in the receiver.
  if (key === 'stack' || key === 'cause' || key in Error.prototype) return false;
  return (
    value === null ||
    (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')
  );
}

export function keySegment(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function segmentOf(at: string | number): string {
  if (typeof at === 'number') return `[${at}]`;
  return at.startsWith('<') ? at : keySegment(at);
}

/**
 * Walks `value` once: refuses what cannot be carried in `mode` (naming the
 * path) or exceeds `limits`, and reports its shape. Work is bounded by
 * `limits.maxBytes` and by the number of distinct objects in the value.
 *
 * `trackShared` finds shared references (JSON would duplicate them) at the
 * cost of a Set of every object (about 40 ns each). Without it, the walk
 * assumes a tree and finds cycles along the current path only: structured
 * clone keeps sharing itself, so that is enough for it. A value with heavy
 * sharing (a DAG) would then be walked once per path, so that fast walk gives
 * up after FAST_WALK_VISITS values, or as soon as its count passes
 * maxBytes, and the value is walked again, exactly.
 */
export function walkValue(
  value: unknown,
  limits: Limits,
  mode: WalkMode,
  trackShared: boolean,
): ValueShape {
  if (!trackShared) {
    try {
      return new Walker(limits, mode, false).shapeOf(value);
    } catch (error) {
      if (!(error instanceof FastWalkGaveUp)) throw error;
    }
  }
  return new Walker(limits, mode, true).shapeOf(value);
}

/** What a record list counts for, as a receiver measures it. */
export function recordListBytes(records: unknown, limits: Limits): number {
  const allowance = { maxBytes: limits.maxBytes, maxDepth: RECORD_LIST_DEPTH };
  return walkValue(records, allowance, 'arrived', false).bytes;
}

const DETACHED =
  'a detached ArrayBuffer (its memory was transferred to another thread: nothing is left to send)';

/** Past this many values the fast walk may be repeating a DAG's parts: walk exactly. */
const FAST_WALK_VISITS = 50_000;

class FastWalkGaveUp extends Error {}

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
  private visits = 0;
  private readonly maxBytes: number;
  private readonly maxDepth: number;
  /** Proxies run code on every read and clone refuses them; what arrived came through a clone or a parser. */
  private readonly checkProxies: boolean;
  private readonly plainKeysByForIn = forInIsOwnKeys();

  constructor(
    limits: Limits,
    private readonly mode: WalkMode,
    trackShared: boolean,
  ) {
    this.maxBytes = limits.maxBytes;
    this.maxDepth = limits.maxDepth;
    this.checkProxies = mode !== 'arrived';
    this.seen = trackShared ? new Set() : undefined;
  }

  shapeOf(value: unknown): ValueShape {
    const depth = this.visit(value, 0);
    return { bytes: this.bytes, depth, needsRecords: this.needsRecords, jsonExact: this.jsonExact };
  }

  private count(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes > this.maxBytes) this.overflow();
  }

  private overflow(): never {
    if (this.seen === undefined) throw new FastWalkGaveUp();
    throw new Refusal(`is larger than maxBytes (${this.maxBytes})`);
  }

  /** Returns the container depth at and below `value`. */
  private visit(value: unknown, depth: number): number {
    // Every value counts: a DAG of shared arrays is small to clone and huge to
    // walk as a tree, and its leaves are what the tree walk repeats.
    if (this.seen === undefined && ++this.visits > FAST_WALK_VISITS) throw new FastWalkGaveUp();
    if (typeof value !== 'object' || value === null) {
      this.primitive(value);
      return 0;
    }
    if (this.checkProxies && types.isProxy(value)) throw new Refusal('is a Proxy');
    if (this.alreadyReached(value)) {
      // A shared reference or a cycle: kept as such by both formats, not by JSON.
      this.jsonExact = false;
      this.count(VALUE_BYTES.sharedReference);
      return 0;
    }
    if (depth >= this.maxDepth) {
      throw new Refusal(`is nested deeper than maxDepth (${this.maxDepth})`);
    }
    this.path.push(value);
    // Plain objects and arrays first: they are most of any value.
    const proto = Object.getPrototypeOf(value);
    const below =
      proto === Object.prototype || proto === null
        ? 1 + this.properties(value, depth + 1, this.plainKeysByForIn)
        : proto === Array.prototype
          ? 1 + this.array(value as unknown[], depth + 1)
          : this.builtIn(value, depth + 1);
    this.path.pop();
    return below;
  }

  private builtIn(object: object, below: number): number {
    const kind = kindOf(object);
    if (typeof kind === 'object') throw new Refusal(`is ${kind.refused}`);
    return this.container(kind, object, below);
  }

  private primitive(value: unknown): void {
    switch (typeof value) {
      case 'function':
        throw new Refusal('is a function');
      case 'symbol':
        throw new Refusal('is a symbol');
      case 'bigint':
        if (bigintDigits(value) > MAX_BIGINT_DIGITS) {
          throw new Refusal(`is a BigInt of more than ${MAX_BIGINT_DIGITS} decimal digits`);
        }
        break;
    }
    // Only the json format asks whether JSON carries the value exactly.
    if (this.seen !== undefined && !isJsonExactPrimitive(value)) this.jsonExact = false;
    this.count(primitiveBytes(value));
  }

  private alreadyReached(object: object): boolean {
    if (this.seen === undefined) return this.path.includes(object);
    if (this.seen.has(object)) return true;
    this.seen.add(object);
    return false;
  }

  private container(kind: ValueKind, object: object, below: number): number {
    switch (kind) {
      case 'array':
        return 1 + this.array(object as unknown[], below);
      case 'object':
        return 1 + this.properties(object, below, false);
      case 'instance':
        if (this.mode !== 'clone') throw classInstance(object, this.mode);
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
        this.count(VALUE_BYTES.date);
        return 1;
      case 'regexp':
        this.jsonExact = false;
        this.count((object as RegExp).source.length + VALUE_BYTES.regexp);
        return 1;
      case 'view': {
        const view = object as ArrayBufferView;
        if (isDetached(view.buffer)) throw new Refusal(`is a view of ${DETACHED}`);
        if (this.mode === 'send') {
          if (isPartialView(view)) this.needsRecords = true;
          return this.bytesOf(view.byteLength);
        }
        return this.bytesOf(view.buffer.byteLength);
      }
      default:
        if (isDetached(object as ArrayBuffer)) throw new Refusal(`is ${DETACHED}`);
        return this.bytesOf((object as ArrayBuffer).byteLength);
    }
  }

  /** ArrayBuffers and views travel as base64 of their bytes. */
  private bytesOf(byteLength: number): number {
    this.jsonExact = false;
    this.count(bufferBytes(byteLength));
    return 1;
  }

  /**
   * Visits a child of an Error; on a refusal, prepends where the child sits.
   * Containers do the same once per loop instead of once per child.
   */
  private child(value: unknown, depth: number, at: string): number {
    try {
      return this.visit(value, depth);
    } catch (error) {
      throw located(error, at);
    }
  }

  private array(array: unknown[], depth: number): number {
    let deepest = 0;
    this.count(VALUE_BYTES.container);
    const { length } = array;
    let i = 0;
    try {
      for (; i < length; i++) {
        this.count(VALUE_BYTES.element);
        const item = array[i];
        if (item === undefined && !(i in array)) {
          this.jsonExact = false;
          continue;
        }
        const below = this.visit(item, depth);
        if (below > deepest) deepest = below;
      }
    } catch (error) {
      throw located(error, i);
    }
    return deepest;
  }

  private properties(object: object, depth: number, byForIn: boolean): number {
    let deepest = 0;
    this.count(VALUE_BYTES.container);
    const record = object as Record<string, unknown>;
    let key = '';
    try {
      // for...in spares the key array Object.keys allocates, and V8 reads
      // `record[key]` through its enum cache when the read sits in the loop
      // body. It is used only when it yields exactly the own enumerable keys.
      if (byForIn) {
        for (key in record) {
          this.count(key.length + VALUE_BYTES.property);
          const below = this.visit(record[key], depth);
          if (below > deepest) deepest = below;
        }
      } else {
        for (key of Object.keys(record)) {
          this.count(key.length + VALUE_BYTES.property);
          const below = this.visit(record[key], depth);
          if (below > deepest) deepest = below;
        }
      }
    } catch (error) {
      throw located(error, key);
    }
    return deepest;
  }

  private map(map: Map<unknown, unknown>, depth: number): number {
    let deepest = 0;
    let n = 0;
    let at = 'key';
    this.count(VALUE_BYTES.container);
    try {
      for (const [key, value] of map) {
        at = 'key';
        const belowKey = this.visit(key, depth);
        at = 'value';
        const belowValue = this.visit(value, depth);
        deepest = Math.max(deepest, belowKey, belowValue);
        n++;
      }
    } catch (error) {
      // The label is built only for a refusal, never per entry.
      throw located(error, `<map ${at} #${n}>`);
    }
    return deepest;
  }

  private set(set: Set<unknown>, depth: number): number {
    let deepest = 0;
    let n = 0;
    this.count(VALUE_BYTES.container);
    try {
      for (const item of set) {
        const below = this.visit(item, depth);
        if (below > deepest) deepest = below;
        n++;
      }
    } catch (error) {
      throw located(error, `<set item #${n}>`);
    }
    return deepest;
  }

  private error(error: Error, depth: number): number {
    const fields = error as unknown as Record<string, unknown>;
    const text = textOf(fields, 'message') + textOf(fields, 'stack');
    this.count(text.length + VALUE_BYTES.error);
    let deepest = 0;
    if ('cause' in error) deepest = this.child(readProperty(fields, 'cause'), depth, 'cause');
    if (error instanceof AggregateError) {
      deepest = Math.max(deepest, this.child(readProperty(fields, 'errors'), depth, 'errors'));
    }
    for (const key of Object.keys(error)) {
      const value = readProperty(fields, key);
      if (isCarriedErrorProperty(key, value)) this.child(value, depth, key);
    }
    return deepest;
  }
}

/**
 * A class instance in a context value: stripping it to a plain object, as
 * structured clone does, would hand the receiver a broken object and send
 * whatever it holds (a connection's password) along.
 */
function classInstance(object: object, mode: WalkMode): Refusal {
  let name = 'anonymous class';
  try {
    name = className(object);
  } catch {
    // A prototype that throws when read (a Proxy): the generic name stays.
  }
  const refusal =
    mode === 'send'
      ? new Refusal(
          'is a class instance, which does not travel as it is (only plain data, Map, Set, ' +
            'Date, RegExp, Error, ArrayBuffer and typed arrays do)',
          true,
        )
      : new Refusal('is a class instance, which no sender writes');
  refusal.segments.push(` <${name}>`);
  return refusal;
}

/**
 * A failure while visiting the child at `at`: a refusal from below gets the
 * child's place prepended; a getter that threw becomes a refusal there; the
 * fast walk giving up passes through.
 */
function located(error: unknown, at: string | number): unknown {
  if (error instanceof FastWalkGaveUp) return error;
  const refusal =
    error instanceof Refusal ? error : new Refusal(`threw when read: ${String(error)}`);
  refusal.segments.unshift(segmentOf(at));
  return refusal;
}

/** An Error's text field as a string; one whose getter or toString throws is a refusal naming it. */
function textOf(error: Record<string, unknown>, key: 'message' | 'stack'): string {
  const value = readProperty(error, key);
  // As the records carry them: the message made a string, the stack only if it is one.
  if (key === 'stack') return typeof value === 'string' ? value : '';
  try {
    return String(value);
  } catch (thrown) {
    throw located(thrown, key);
  }
}

/** Reads a property of an Error; a getter that throws becomes a refusal naming the key. */
function readProperty(record: Record<string, unknown>, key: string): unknown {
  try {
    return record[key];
  } catch (error) {
    throw located(error, key);
  }
}
