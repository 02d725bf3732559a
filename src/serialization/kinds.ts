import { types } from 'node:util';

/**
 * The kinds of value a snapshot carries, decided by brand checks (not
 * `instanceof` or `Symbol.toStringTag`, which other realms and user code can
 * fool). Everything else is refused.
 */
export type ValueKind =
  | 'primitive'
  | 'array'
  | 'object'
  | 'instance'
  | 'date'
  | 'regexp'
  | 'map'
  | 'set'
  | 'error'
  | 'arraybuffer'
  | 'view';

/** Typed array and DataView constructors a snapshot may carry, by name. */
export const VIEW_TYPES = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
} as const;

export type ViewTypeName = keyof typeof VIEW_TYPES;

/** The kind of `value`, or a reason it cannot be carried. Callers check for a Proxy first. */
export function kindOf(value: unknown): ValueKind | { refused: string } {
  switch (typeof value) {
    case 'function':
      return { refused: 'a function' };
    case 'symbol':
      return { refused: 'a symbol' };
    case 'object':
      break;
    default:
      return 'primitive';
  }
  if (value === null) return 'primitive';
  // Plain objects and arrays first: they are most of any value.
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return 'object';
  if (proto === Array.prototype || Array.isArray(value)) return 'array';
  return builtInKind(value);
}

function builtInKind(value: object): ValueKind | { refused: string } {
  if (types.isNativeError(value)) return 'error';
  if (types.isDate(value)) return 'date';
  if (types.isRegExp(value)) return 'regexp';
  if (types.isMap(value)) return 'map';
  if (types.isSet(value)) return 'set';
  if (types.isArrayBuffer(value)) return 'arraybuffer';
  if (types.isArrayBufferView(value)) {
    return viewTypeName(value as ArrayBufferView) === undefined
      ? { refused: 'an unsupported typed array' }
      : types.isSharedArrayBuffer((value as ArrayBufferView).buffer)
        ? { refused: 'a view of a SharedArrayBuffer (shared memory would break task isolation)' }
        : 'view';
  }
  const refused = refusedObject(value);
  return refused === undefined ? 'instance' : { refused };
}

function refusedObject(value: object): string | undefined {
  if (types.isSharedArrayBuffer(value)) {
    return 'a SharedArrayBuffer (shared memory would break task isolation)';
  }
  if (types.isPromise(value)) return 'a Promise';
  if (types.isWeakMap(value)) return 'a WeakMap';
  if (types.isWeakSet(value)) return 'a WeakSet';
  if (value instanceof WeakRef) return 'a WeakRef';
  if (types.isBoxedPrimitive(value)) return 'a boxed primitive (new Number/String/Boolean...)';
  if (types.isGeneratorObject(value)) return 'a generator';
  if (types.isMapIterator(value) || types.isSetIterator(value)) return 'an iterator';
  if (types.isModuleNamespaceObject(value)) return 'a module namespace';
  if (types.isKeyObject(value) || types.isCryptoKey(value)) return 'a crypto key';
  return undefined;
}

const VIEW_CHECKS = Object.keys(VIEW_TYPES).map(
  (name) =>
    [
      name as ViewTypeName,
      types[`is${name}` as keyof typeof types] as (v: unknown) => boolean,
    ] as const,
);

/** The carried type of a typed array or DataView (a subclass such as Buffer counts as its base). */
export function viewTypeName(view: ArrayBufferView): ViewTypeName | undefined {
  for (const [name, is] of VIEW_CHECKS) if (is(view)) return name;
  return undefined;
}

/** Whether JSON carries a number exactly: true unless it is -0, NaN or ±Infinity. */
export function isJsonExactNumber(value: number): boolean {
  return Number.isFinite(value) && !Object.is(value, -0);
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

/**
 * Whether `buffer`'s memory was transferred away (postMessage, `transfer()`):
 * structured clone refuses it, and it has no bytes left to carry. Node 20 has
 * no `detached` getter, but slicing a detached buffer throws there too; only
 * an empty buffer can be detached, so others cost one comparison.
 */
export function isDetached(buffer: ArrayBufferLike): boolean {
  if (buffer.byteLength !== 0) return false;
  const detached = (buffer as { detached?: unknown }).detached;
  if (typeof detached === 'boolean') return detached;
  try {
    ArrayBuffer.prototype.slice.call(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/** A view over only part of its buffer: carried as a copy of its own bytes. */
export function isPartialView(view: ArrayBufferView): boolean {
  return view.byteOffset !== 0 || view.byteLength !== view.buffer.byteLength;
}

/**
 * How a class instance is named in a refusal: its `Symbol.toStringTag`
 * (`Intl.NumberFormat`), else its constructor's name (`PgClient`). Read from
 * the prototype's own data properties, so no getter of the value runs.
 */
export function className(value: object): string {
  const proto: unknown = Object.getPrototypeOf(value);
  if (typeof proto !== 'object' || proto === null) return 'Object';
  const tag = Object.getOwnPropertyDescriptor(proto, Symbol.toStringTag)?.value;
  if (typeof tag === 'string' && tag !== '') return tag;
  const ctor: unknown = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  const name = typeof ctor === 'function' ? ctor.name : undefined;
  return typeof name === 'string' && name !== '' ? name : 'anonymous class';
}
