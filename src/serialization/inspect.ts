import { isJsonExactNumber, isPartialView, isPlainObject, kindOf } from './kinds.js';
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

export function keySegment(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * Walks `value` once: refuses what cannot be carried (naming the path) or what
 * exceeds `limits`, and reports which encoding it needs. Work is bounded by
 * `limits.maxBytes`: the walk stops as soon as the estimate exceeds it.
 */
export function inspectValue(value: unknown, limits: Limits): ValueFacts {
  const walker = new Walker(limits);
  const depth = walker.visit(value, 0);
  return {
    bytes: walker.bytes,
    depth,
    needsRecords: walker.needsRecords,
    jsonExact: walker.jsonExact,
  };
}

class Walker {
  bytes = 0;
  needsRecords = false;
  jsonExact = true;
  private readonly seen = new Set<object>();

  constructor(private readonly limits: Limits) {}

  private count(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes > this.limits.maxBytes) {
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
    if (this.seen.has(object)) {
      // A shared reference or a cycle: kept as such by both formats, not by JSON.
      this.jsonExact = false;
      this.count(1);
      return 0;
    }
    this.seen.add(object);
    if (depth >= this.limits.maxDepth) {
      throw new Refusal(`is nested deeper than maxDepth (${this.limits.maxDepth})`);
    }
    const below = depth + 1;
    switch (kind) {
      case 'array':
        return 1 + this.array(value as unknown[], below);
      case 'object':
        if (!isPlainObject(object)) this.jsonExact = false;
        return 1 + this.properties(object, below);
      case 'map':
        this.jsonExact = false;
        return 1 + this.map(value as Map<unknown, unknown>, below);
      case 'set':
        this.jsonExact = false;
        return 1 + this.set(value as Set<unknown>, below);
      case 'error':
        this.jsonExact = false;
        this.needsRecords = true;
        return 1 + this.error(value as Error, below);
      case 'date':
        this.jsonExact = false;
        this.count(26);
        return 1;
      case 'regexp':
        this.jsonExact = false;
        this.count((value as RegExp).source.length + 2);
        return 1;
      case 'view':
        if (isPartialView(value as ArrayBufferView)) this.needsRecords = true;
        return this.bytesOf((value as ArrayBufferView).byteLength);
      default:
        return this.bytesOf((value as ArrayBuffer).byteLength);
    }
  }

  /** ArrayBuffers and views travel as base64 of their bytes. */
  private bytesOf(byteLength: number): number {
    this.jsonExact = false;
    this.count(Math.ceil((byteLength * 4) / 3) + 2);
    return 1;
  }

  private primitive(value: unknown): void {
    switch (typeof value) {
      case 'string':
        this.count(value.length + 2);
        return;
      case 'number':
        if (!isJsonExactNumber(value)) this.jsonExact = false;
        this.count(1);
        return;
      case 'bigint':
        this.jsonExact = false;
        this.count(value.toString().length + 2);
        return;
      case 'undefined':
        this.jsonExact = false;
        this.count(4);
        return;
      default:
        this.count(4);
    }
  }

  private child(value: unknown, depth: number, segment: () => string): number {
    try {
      return this.visit(value, depth);
    } catch (error) {
      if (error instanceof Refusal) error.segments.unshift(segment());
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
      deepest = Math.max(
        deepest,
        this.child(array[i], depth, () => `[${i}]`),
      );
    }
    return deepest;
  }

  private properties(object: object, depth: number): number {
    let deepest = 0;
    this.count(2);
    for (const key of Object.keys(object)) {
      this.count(key.length + 3);
      const value = this.read(object, key);
      deepest = Math.max(
        deepest,
        this.child(value, depth, () => keySegment(key)),
      );
    }
    return deepest;
  }

  private read(object: object, key: string): unknown {
    try {
      return (object as Record<string, unknown>)[key];
    } catch (error) {
      const refusal = new Refusal(`threw when read: ${String(error)}`);
      refusal.segments.push(keySegment(key));
      throw refusal;
    }
  }

  private map(map: Map<unknown, unknown>, depth: number): number {
    let deepest = 0;
    let i = 0;
    this.count(2);
    for (const [key, value] of map) {
      const n = i++;
      deepest = Math.max(
        deepest,
        this.child(key, depth, () => `<map key #${n}>`),
        this.child(value, depth, () => `<map value #${n}>`),
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
      deepest = Math.max(
        deepest,
        this.child(item, depth, () => `<set item #${n}>`),
      );
    }
    return deepest;
  }

  private error(error: Error, depth: number): number {
    this.count(String(error.message).length + String(error.stack ?? '').length + 16);
    let deepest = 0;
    if ('cause' in error) deepest = this.child(error.cause, depth, () => '.cause');
    if (error instanceof AggregateError) {
      deepest = Math.max(
        deepest,
        this.child(error.errors, depth, () => '.errors'),
      );
    }
    for (const key of Object.keys(error)) {
      const value = this.read(error, key);
      if (isCarriedErrorProperty(key, value)) this.child(value, depth, () => keySegment(key));
    }
    return deepest;
  }
}
