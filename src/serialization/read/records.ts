import { Buffer } from 'node:buffer';
import { types } from 'node:util';
import { ContextError, ContextSerializationError, LookupError } from '../../context/index.js';
import { VIEW_TYPES, type ViewTypeName } from '../kinds.js';
import { isCarriedErrorProperty } from '../walk.js';
import {
  bufferBytes,
  HOLE,
  type Limits,
  MAX_BIGINT_DIGITS,
  primitiveBytes,
  RECORD,
  VALUE_BYTES,
} from '../wire.js';
import { type DecodeBudget, Unreadable } from './budget.js';

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Error classes a record may name, restored by name: the built-ins and this
 * package's own. A record naming any other class arrives as an Error with
 * that name.
 */
const errorClasses = new Map<string, ErrorClass>(
  [
    Error,
    EvalError,
    RangeError,
    ReferenceError,
    SyntaxError,
    TypeError,
    URIError,
    AggregateError,
    LookupError,
    ContextError,
    ContextSerializationError,
  ].map((ErrorClass) => [ErrorClass.name, ErrorClass]),
);

/** Lets another layer of this package restore its own error class by name. */
export function restoreErrorsAs(name: string, ErrorClass: ErrorClass): void {
  errorClasses.set(name, ErrorClass);
}

const SPECIAL_NUMBERS: Readonly<Record<string, number>> = {
  '-0': -0,
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BIGINT = /^-?\d+$/;
const REGEXP_FLAGS = /^[dgimsuvy]*$/;
/** A record's type as a message shows it, whatever it is (a BigInt, a cyclic array...). */
function typeName(type: unknown): string {
  if (typeof type === 'string') return JSON.stringify(type.slice(0, 20));
  return typeof type === 'number' ? String(type) : `of kind ${typeof type}`;
}

/** Longer than any ISO date string. */
const MAX_DATE_LENGTH = 64;

/**
 * Decodes a record list without trusting it: every index, type, length and
 * nesting level is checked before anything is built, and everything built is
 * charged to `budget`, so what the records declare cannot make the decoder
 * allocate or work more than the input's size allows. Object keys become own
 * data properties (an own `__proto__` key stays a key); error classes come
 * only from `errorClasses`. Throws `Unreadable` for anything else.
 */
export function decodeRecords(input: unknown, limits: Limits, budget: DecodeBudget): unknown {
  if (!Array.isArray(input) || input.length === 0) {
    throw new Unreadable('records must be a non-empty array');
  }
  const records: readonly unknown[] = input;
  const built = new Map<number, unknown>();

  const fail = (index: number, reason: string): never => {
    throw new Unreadable(`record ${index}: ${reason}`);
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
    return type === RECORD.primitive && typeof key === 'string'
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
    if (built.has(index)) {
      budget.spend(VALUE_BYTES.sharedReference);
      return built.get(index);
    }
    const [type, payload] = record;
    switch (type) {
      case RECORD.primitive:
        if (
          typeof payload === 'string' ||
          typeof payload === 'boolean' ||
          payload === null ||
          (typeof payload === 'number' && Number.isFinite(payload))
        ) {
          budget.spend(primitiveBytes(payload));
          return payload;
        }
        return fail(index, 'holds an invalid primitive');
      case RECORD.undefined:
        budget.spend(primitiveBytes(undefined));
        return undefined;
      case RECORD.bigint:
        if (typeof payload !== 'string' || !BIGINT.test(payload)) {
          return fail(index, 'holds an invalid BigInt');
        }
        if (payload.length > MAX_BIGINT_DIGITS + 1) {
          return fail(index, `holds a BigInt of more than ${MAX_BIGINT_DIGITS} digits`);
        }
        budget.spend(payload.length + 2);
        return keep(index, BigInt(payload));
      case RECORD.number:
        if (typeof payload !== 'string' || !Object.hasOwn(SPECIAL_NUMBERS, payload)) {
          return fail(index, 'holds an invalid number');
        }
        budget.spend(primitiveBytes(0));
        return SPECIAL_NUMBERS[payload];
      case RECORD.date: {
        if (payload !== null && (typeof payload !== 'string' || payload.length > MAX_DATE_LENGTH)) {
          return fail(index, 'holds an invalid Date');
        }
        budget.spend(VALUE_BYTES.date);
        return keep(index, new Date(payload === null ? Number.NaN : payload));
      }
      case RECORD.regexp: {
        const { source, flags } = (payload ?? {}) as { source?: unknown; flags?: unknown };
        if (typeof source !== 'string' || typeof flags !== 'string' || !REGEXP_FLAGS.test(flags)) {
          return fail(index, 'holds an invalid RegExp');
        }
        budget.spend(source.length + VALUE_BYTES.regexp);
        try {
          return keep(index, new RegExp(source, flags));
        } catch {
          return fail(index, 'holds a RegExp that does not compile');
        }
      }
      case RECORD.buffer:
        return keep(index, buffer(payload, index));
      case RECORD.view:
        return keep(index, view(payload, index));
    }
    // Containers: deeper than maxDepth is refused before anything is built.
    if (depth >= limits.maxDepth) {
      fail(index, `is nested deeper than maxDepth (${limits.maxDepth})`);
    }
    const below = depth + 1;
    switch (type) {
      case RECORD.array: {
        const items = list(payload, index, 'an array');
        budget.spend(VALUE_BYTES.container + items.length * VALUE_BYTES.element);
        const array = keep(index, [] as unknown[]);
        for (const item of items) array.push(visit(item, index, below));
        return array;
      }
      case RECORD.sparse: {
        const slots = list(payload, index, 'a sparse array');
        budget.spend(VALUE_BYTES.container + slots.length * VALUE_BYTES.element);
        // One slot per index, so the length is as long as the input is.
        const array = keep(index, new Array<unknown>(slots.length));
        for (let i = 0; i < slots.length; i++) {
          if (slots[i] !== HOLE) array[i] = visit(slots[i], index, below);
        }
        return array;
      }
      case RECORD.object: {
        const entries = list(payload, index, 'an object');
        budget.spend(VALUE_BYTES.container);
        const object = keep(index, {} as Record<string, unknown>);
        for (const entry of entries) {
          const [k, v] = list(entry, index, 'an object entry');
          const key = keyAt(k, index);
          budget.spend(key.length + VALUE_BYTES.property);
          define(object, key, visit(v, index, below));
        }
        return object;
      }
      case RECORD.map: {
        const entries = list(payload, index, 'a Map');
        budget.spend(VALUE_BYTES.container + entries.length * VALUE_BYTES.element);
        const map = keep(index, new Map<unknown, unknown>());
        for (const entry of entries) {
          const [k, v] = list(entry, index, 'a Map entry');
          map.set(visit(k, index, below), visit(v, index, below));
        }
        return map;
      }
      case RECORD.set: {
        const members = list(payload, index, 'a Set');
        budget.spend(VALUE_BYTES.container + members.length * VALUE_BYTES.element);
        const set = keep(index, new Set<unknown>());
        for (const member of members) set.add(visit(member, index, below));
        return set;
      }
      case RECORD.error:
        return error(payload, index, below);
      default:
        return fail(index, `has unknown type ${typeName(type)}`);
    }
  }

  function buffer(payload: unknown, index: number): ArrayBuffer {
    if (typeof payload !== 'string' || !BASE64.test(payload)) {
      return fail(index, 'holds invalid base64');
    }
    const bytes = Buffer.from(payload, 'base64');
    budget.spend(bufferBytes(bytes.length));
    const arrayBuffer = new ArrayBuffer(bytes.length);
    new Uint8Array(arrayBuffer).set(bytes);
    return arrayBuffer;
  }

  function view(payload: unknown, index: number): ArrayBufferView {
    const [name, bufferRef, byteOffset, length] = list(payload, index, 'a typed array');
    if (typeof name !== 'string' || !Object.hasOwn(VIEW_TYPES, name)) {
      return fail(index, 'names an unknown typed array');
    }
    // Only a buffer record may back a view: never a view, never itself.
    if (recordAt(bufferRef, index)[0] !== RECORD.buffer) {
      return fail(index, 'refers to something other than an ArrayBuffer');
    }
    const backing = visit(bufferRef, index, 0);
    if (!types.isArrayBuffer(backing)) {
      return fail(index, 'refers to something other than an ArrayBuffer');
    }
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
      (byteOffset as number) + (length as number) * unit > backing.byteLength
    ) {
      return fail(index, 'declares a range outside its buffer');
    }
    budget.spend(VALUE_BYTES.element);
    return new (Ctor as new (b: ArrayBuffer, o: number, l: number) => ArrayBufferView)(
      backing,
      byteOffset as number,
      length as number,
    );
  }

  function error(payload: unknown, index: number, depth: number): Error {
    if (typeof payload !== 'object' || payload === null) {
      return fail(index, 'holds an invalid Error');
    }
    const { name, message, stack, cause, errors, props } = payload as Record<string, unknown>;
    if (typeof name !== 'string' || typeof message !== 'string') {
      return fail(index, 'holds an Error without a string name and message');
    }
    if (stack !== undefined && typeof stack !== 'string') {
      return fail(index, 'holds an invalid stack');
    }
    budget.spend(message.length + (stack?.length ?? 0) + VALUE_BYTES.error);
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
        if (!isCarriedErrorProperty(key, value)) {
          return fail(index, `has an invalid property ${key}`);
        }
        budget.spend(key.length + VALUE_BYTES.property);
        define(restored, key, value);
      }
    }
    return restored;
  }

  return visit(0, 0, 0);
}
