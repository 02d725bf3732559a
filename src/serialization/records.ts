import { Buffer } from 'node:buffer';
import { types } from 'node:util';
import { isCarriedErrorProperty } from './inspect.js';
import {
  isJsonExactNumber,
  isPartialView,
  kindOf,
  VIEW_TYPES,
  type ViewTypeName,
  viewTypeName,
} from './kinds.js';
import type { Limits } from './options.js';

/**
 * Values as a flat list of records `[type, payload]`, in structured-clone-es's
 * record format: record 0 is the value; containers refer to other records by
 * index, so shared references and cycles survive. Types 0-8 are that
 * library's (primitive, array, object, Date, RegExp, Map, Set, Error, BigInt;
 * -1 undefined). The `~` types are ours, for what its format loses:
 * `~num` (-0, NaN, ±Infinity), `~sparse` (arrays with holes), `~buffer`
 * (ArrayBuffer as base64), `~view` (typed arrays and DataView). Errors add
 * stack, cause, errors and own primitive properties to the library's
 * `{ name, message }`.
 */
export type WireRecord = readonly unknown[];

/**
 * How deep a record list itself nests (list, record, payload, pair): walking
 * one to measure its size allows this much, whatever the value's own depth,
 * which `decodeRecords` checks against maxDepth.
 */
export function recordsWalkLimits(limits: Limits): Limits {
  return { maxBytes: limits.maxBytes, maxDepth: 8 };
}

/** Thrown by `decodeRecords` for input it will not read. */
export class MalformedRecords extends Error {}

const SPECIAL_NUMBERS: Readonly<Record<string, number>> = {
  '-0': -0,
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

function specialNumberName(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}

/** Encodes a value the inspection walk accepted. */
export function encodeRecords(value: unknown): WireRecord[] {
  const records: unknown[][] = [];
  const indexOf = new Map<unknown, number>();

  const add = (key: unknown, record: unknown[]): number => {
    const index = records.push(record) - 1;
    indexOf.set(key, index);
    return index;
  };
  // Containers take their index before their children, so a cycle finds it.
  const reserve = (key: object, type: number | string, payload: unknown): number =>
    add(key, [type, payload]);

  const pair = (item: unknown): number => {
    const known = indexOf.get(item);
    if (known !== undefined && (typeof item === 'string' || typeof item === 'object')) return known;
    const kind = kindOf(item);
    switch (kind) {
      case 'primitive':
        return primitive(item);
      case 'array': {
        const array = item as unknown[];
        let dense = true;
        for (let i = 0; i < array.length && dense; i++) dense = i in array;
        if (dense) {
          const items: number[] = [];
          const index = reserve(array, 1, items);
          for (const element of array) items.push(pair(element));
          return index;
        }
        const slots: number[] = [array.length];
        const index = reserve(array, '~sparse', slots);
        array.forEach((element, i) => {
          slots.push(i, pair(element));
        });
        return index;
      }
      case 'object':
      case 'instance': {
        const entries: number[][] = [];
        const index = reserve(item as object, 2, entries);
        for (const key of Object.keys(item as object)) {
          entries.push([pair(key), pair((item as Record<string, unknown>)[key])]);
        }
        return index;
      }
      case 'date': {
        const time = (item as Date).getTime();
        return add(item, [3, Number.isNaN(time) ? null : (item as Date).toISOString()]);
      }
      case 'regexp':
        return add(item, [4, { source: (item as RegExp).source, flags: (item as RegExp).flags }]);
      case 'map': {
        const entries: number[][] = [];
        const index = reserve(item as object, 5, entries);
        for (const [k, v] of item as Map<unknown, unknown>) entries.push([pair(k), pair(v)]);
        return index;
      }
      case 'set': {
        const members: number[] = [];
        const index = reserve(item as object, 6, members);
        for (const member of item as Set<unknown>) members.push(pair(member));
        return index;
      }
      case 'error':
        return error(item as Error);
      case 'arraybuffer':
        return add(item, ['~buffer', Buffer.from(item as ArrayBuffer).toString('base64')]);
      case 'view': {
        const view = item as ArrayBufferView;
        const name = viewTypeName(view) as ViewTypeName;
        const elements = name === 'DataView' ? view.byteLength : (view as Uint8Array).length;
        const fields: unknown[] = [name];
        const index = reserve(view, '~view', fields);
        const buffer = isPartialView(view)
          ? add({}, ['~buffer', bytesOf(view).toString('base64')])
          : pair(view.buffer);
        fields.push(buffer, 0, elements);
        return index;
      }
      default:
        throw new Error(`unreachable: ${kind.refused}`);
    }
  };

  const primitive = (item: unknown): number => {
    switch (typeof item) {
      case 'undefined':
        return add(item, [-1]);
      case 'bigint':
        return add(item, [8, item.toString()]);
      case 'number':
        return isJsonExactNumber(item)
          ? records.push([0, item]) - 1
          : records.push(['~num', specialNumberName(item)]) - 1;
      default:
        return add(item, [0, item]);
    }
  };

  const error = (item: Error): number => {
    const payload: Record<string, unknown> = {
      name: String(item.name),
      message: String(item.message),
    };
    const index = reserve(item, 7, payload);
    if (typeof item.stack === 'string') payload.stack = item.stack;
    if (Object.hasOwn(item, 'cause')) payload.cause = pair(item.cause);
    if (item instanceof AggregateError) payload.errors = pair(item.errors);
    const props: number[][] = [];
    for (const key of Object.keys(item)) {
      const prop = (item as unknown as Record<string, unknown>)[key];
      if (isCarriedErrorProperty(key, prop)) props.push([pair(key), pair(prop)]);
    }
    if (props.length > 0) payload.props = props;
    return index;
  };

  pair(value);
  return records;
}

function bytesOf(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** Error classes a snapshot may name, restored by name; others arrive as Error with that name. */
export type ErrorClasses = ReadonlyMap<string, abstract new (...args: never[]) => Error>;

export const BUILT_IN_ERRORS: ErrorClasses = new Map<string, new (...args: never[]) => Error>([
  ['Error', Error],
  ['EvalError', EvalError],
  ['RangeError', RangeError],
  ['ReferenceError', ReferenceError],
  ['SyntaxError', SyntaxError],
  ['TypeError', TypeError],
  ['URIError', URIError],
  ['AggregateError', AggregateError],
]);

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BIGINT = /^-?\d+$/;
const REGEXP_FLAGS = /^[dgimsuvy]*$/;

/**
 * Decodes records without trusting them: every index, type, length and
 * nesting level is checked before anything is built; object keys become own
 * data properties (an own `__proto__` key stays a key); error classes come
 * only from `errorClasses`. Throws `MalformedRecords` for anything else.
 */
export function decodeRecords(
  input: unknown,
  limits: Limits,
  errorClasses: ErrorClasses = BUILT_IN_ERRORS,
): unknown {
  if (!Array.isArray(input) || input.length === 0) {
    throw new MalformedRecords('records must be a non-empty array');
  }
  const records: readonly unknown[] = input;
  const built = new Map<number, unknown>();

  const fail = (index: number, reason: string): never => {
    throw new MalformedRecords(`record ${index}: ${reason}`);
  };

  const recordAt = (index: unknown, from: number): readonly unknown[] => {
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= records.length) {
      fail(from, `refers to record ${String(index)}, which does not exist`);
    }
    const record = records[index as number];
    if (!Array.isArray(record) || record.length < 1 || record.length > 2) {
      fail(index as number, 'is not a [type, payload] pair');
    }
    return record as readonly unknown[];
  };

  const list = (value: unknown, index: number, what: string): readonly unknown[] =>
    Array.isArray(value) ? value : fail(index, `${what} must be an array`);

  // Keys are read directly, never decoded: a key cannot lead anywhere else.
  const keyAt = (ref: unknown, from: number): string => {
    const [type, key] = recordAt(ref, from);
    return type === 0 && typeof key === 'string'
      ? key
      : fail(from, 'has a key that is not a string');
  };

  const keep = <T>(index: number, value: T): T => {
    built.set(index, value);
    return value;
  };

  const define = (target: object, key: string, value: unknown): void => {
    Object.defineProperty(target, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  };

  function visit(ref: unknown, from: number, depth: number): unknown {
    const record = recordAt(ref, from);
    const index = ref as number;
    if (built.has(index)) return built.get(index);
    const [type, payload] = record;
    switch (type) {
      case 0:
        if (
          typeof payload === 'string' ||
          typeof payload === 'boolean' ||
          payload === null ||
          (typeof payload === 'number' && Number.isFinite(payload))
        ) {
          return payload;
        }
        return fail(index, 'holds an invalid primitive');
      case -1:
        return undefined;
      case 8:
        if (typeof payload !== 'string' || !BIGINT.test(payload)) {
          return fail(index, 'holds an invalid BigInt');
        }
        return BigInt(payload);
      case '~num':
        if (typeof payload !== 'string' || !Object.hasOwn(SPECIAL_NUMBERS, payload)) {
          return fail(index, 'holds an invalid number');
        }
        return SPECIAL_NUMBERS[payload];
      case 3: {
        if (payload !== null && (typeof payload !== 'string' || payload.length > 64)) {
          return fail(index, 'holds an invalid Date');
        }
        return keep(index, new Date(payload === null ? Number.NaN : payload));
      }
      case 4: {
        const { source, flags } = (payload ?? {}) as { source?: unknown; flags?: unknown };
        if (typeof source !== 'string' || typeof flags !== 'string' || !REGEXP_FLAGS.test(flags)) {
          return fail(index, 'holds an invalid RegExp');
        }
        try {
          return keep(index, new RegExp(source, flags));
        } catch {
          return fail(index, 'holds a RegExp that does not compile');
        }
      }
      case '~buffer': {
        if (typeof payload !== 'string' || !BASE64.test(payload)) {
          return fail(index, 'holds invalid base64');
        }
        const bytes = Buffer.from(payload, 'base64');
        const buffer = new ArrayBuffer(bytes.length);
        new Uint8Array(buffer).set(bytes);
        return keep(index, buffer);
      }
      case '~view':
        return keep(index, view(payload, index, depth));
    }
    // Containers: deeper than maxDepth is refused before anything is built.
    if (depth >= limits.maxDepth)
      fail(index, `is nested deeper than maxDepth (${limits.maxDepth})`);
    const below = depth + 1;
    switch (type) {
      case 1: {
        const items = list(payload, index, 'an array');
        const array = keep(index, [] as unknown[]);
        for (const item of items) array.push(visit(item, index, below));
        return array;
      }
      case '~sparse': {
        const slots = list(payload, index, 'a sparse array');
        const length = slots[0];
        if (
          !Number.isSafeInteger(length) ||
          (length as number) < 0 ||
          (length as number) > limits.maxBytes
        ) {
          return fail(index, 'declares an invalid length');
        }
        if (slots.length % 2 !== 1) return fail(index, 'has an odd slot list');
        const array = keep(index, new Array<unknown>(length as number));
        for (let i = 1; i < slots.length; i += 2) {
          const at = slots[i];
          if (
            !Number.isSafeInteger(at) ||
            (at as number) < 0 ||
            (at as number) >= (length as number)
          ) {
            return fail(index, 'has a slot outside its length');
          }
          array[at as number] = visit(slots[i + 1], index, below);
        }
        return array;
      }
      case 2: {
        const entries = list(payload, index, 'an object');
        const object = keep(index, {} as Record<string, unknown>);
        for (const entry of entries) {
          const [k, v] = list(entry, index, 'an object entry');
          define(object, keyAt(k, index), visit(v, index, below));
        }
        return object;
      }
      case 5: {
        const entries = list(payload, index, 'a Map');
        const map = keep(index, new Map<unknown, unknown>());
        for (const entry of entries) {
          const [k, v] = list(entry, index, 'a Map entry');
          map.set(visit(k, index, below), visit(v, index, below));
        }
        return map;
      }
      case 6: {
        const members = list(payload, index, 'a Set');
        const set = keep(index, new Set<unknown>());
        for (const member of members) set.add(visit(member, index, below));
        return set;
      }
      case 7:
        return error(payload, index, below);
      default:
        return fail(index, `has unknown type ${JSON.stringify(type) ?? String(type)}`);
    }
  }

  function view(payload: unknown, index: number, depth: number): ArrayBufferView {
    const [name, bufferRef, byteOffset, length] = list(payload, index, 'a typed array');
    if (typeof name !== 'string' || !Object.hasOwn(VIEW_TYPES, name)) {
      return fail(index, 'names an unknown typed array');
    }
    const buffer = visit(bufferRef, index, depth);
    if (!types.isArrayBuffer(buffer))
      return fail(index, 'refers to something other than an ArrayBuffer');
    const Ctor = VIEW_TYPES[name as ViewTypeName];
    const unit =
      name === 'DataView'
        ? 1
        : (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    if (
      !Number.isSafeInteger(byteOffset) ||
      !Number.isSafeInteger(length) ||
      (byteOffset as number) < 0 ||
      (length as number) < 0 ||
      (byteOffset as number) % unit !== 0 ||
      (byteOffset as number) + (length as number) * unit > buffer.byteLength
    ) {
      return fail(index, 'declares a range outside its buffer');
    }
    return new (Ctor as new (b: ArrayBuffer, o: number, l: number) => ArrayBufferView)(
      buffer,
      byteOffset as number,
      length as number,
    );
  }

  function error(payload: unknown, index: number, depth: number): Error {
    if (typeof payload !== 'object' || payload === null)
      return fail(index, 'holds an invalid Error');
    const { name, message, stack, cause, errors, props } = payload as Record<string, unknown>;
    if (typeof name !== 'string' || typeof message !== 'string') {
      return fail(index, 'holds an Error without a string name and message');
    }
    if (stack !== undefined && typeof stack !== 'string')
      return fail(index, 'holds an invalid stack');
    const Ctor = errorClasses.get(name) ?? Error;
    // Reflect.construct makes a real Error object with the class's prototype
    // without running the class's constructor and its argument checks.
    const restored = keep(index, Reflect.construct(Error, [message], Ctor) as Error);
    const hidden = (key: string, value: unknown) =>
      Object.defineProperty(restored, key, {
        value,
        writable: true,
        enumerable: false,
        configurable: true,
      });
    if (restored.name !== name) hidden('name', name);
    hidden('stack', stack ?? `${name}: ${message}`);
    if (cause !== undefined) hidden('cause', visit(cause, index, depth));
    if (errors !== undefined) hidden('errors', visit(errors, index, depth));
    if (props !== undefined) {
      for (const entry of list(props, index, 'Error properties')) {
        const [k, v] = list(entry, index, 'an Error property');
        const key = keyAt(k, index);
        const value = visit(v, index, depth);
        if (!isCarriedErrorProperty(key, value))
          return fail(index, `has an invalid property ${key}`);
        define(restored, key, value);
      }
    }
    return restored;
  }

  return visit(0, 0, 0);
}
