import { BRAND, brandPrototype, hasBrand } from './brand.js';

/** Stable `code` values of the errors this package creates. */
export type ContextErrorCode =
  | 'ERR_CONTEXT_ENTERED'
  | 'ERR_TOKEN_USED'
  | 'ERR_TOKEN_VAR'
  | 'ERR_TOKEN_CONTEXT'
  | 'ERR_STATE_LAYOUT';

export type SerializationErrorCode = 'ERR_CONTEXT_SERIALIZE' | 'ERR_CONTEXT_DESERIALIZE';

/**
 * Base of the error classes this package defines: a stable `code` and a name.
 * Each class is branded (`brandErrorClass`), so `instanceof` holds for errors
 * thrown by another copy of the package in the same process.
 */
export abstract class CodedError<C extends string> extends Error {
  readonly code: C;

  protected constructor(name: string, code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
    this.code = code;
  }
}

/** Makes `instanceof ErrorClass` check the `Symbol.for` brand instead of the prototype chain. */
export function brandErrorClass(
  ErrorClass: abstract new (...args: never[]) => Error,
  brand: symbol,
): void {
  brandPrototype(ErrorClass, brand);
  Object.defineProperty(ErrorClass, Symbol.hasInstance, {
    value: (value: unknown) => hasBrand(value, brand),
  });
}

/**
 * Thrown by `ContextVar.get()` when the var has no value in the current
 * context and neither a fallback nor a default (Python's `LookupError`).
 */
export class LookupError extends CodedError<'ERR_CONTEXT_VAR_NOT_SET'> {
  /** Name of the var that had no value. */
  readonly varName: string;

  constructor(varName: string) {
    super(
      'LookupError',
      'ERR_CONTEXT_VAR_NOT_SET',
      `ContextVar '${varName}' has no value in the current context and no default`,
    );
    this.varName = varName;
  }
}
brandErrorClass(LookupError, BRAND.lookupError);

/**
 * A state error of a Context or a Token: entering a context twice, reusing a
 * token, or resetting in the wrong var or context (Python's `RuntimeError` /
 * `ValueError`).
 */
export class ContextError extends CodedError<ContextErrorCode> {
  constructor(code: ContextErrorCode, message: string) {
    super('ContextError', code, message);
  }
}
brandErrorClass(ContextError, BRAND.contextError);

/**
 * A context that cannot leave its thread (`ERR_CONTEXT_SERIALIZE`) or a
 * snapshot that cannot be trusted or read (`ERR_CONTEXT_DESERIALIZE`).
 * `varName` and `path` name the value at fault where there is one.
 */
export class ContextSerializationError extends CodedError<SerializationErrorCode> {
  readonly varName: string | undefined;
  readonly path: string | undefined;

  constructor(
    code: SerializationErrorCode,
    message: string,
    details: { varName?: string; path?: string; cause?: unknown } = {},
  ) {
    super(
      'ContextSerializationError',
      code,
      message,
      'cause' in details ? { cause: details.cause } : undefined,
    );
    this.varName = details.varName;
    this.path = details.path;
  }
}
brandErrorClass(ContextSerializationError, BRAND.serializationError);

/** Attaches a stable `code` to a built-in error, as Node does. */
export function withCode<E extends Error>(error: E, code: string): E & { code: string } {
  Object.defineProperty(error, 'code', {
    value: code,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return error as E & { code: string };
}

/** Node-style argument error: `TypeError` with a `code`, naming the argument. */
export function invalidArgType(argument: string, expected: string, received: unknown): TypeError {
  return withCode(
    new TypeError(`The "${argument}" argument must be ${expected}. Received ${describe(received)}`),
    'ERR_INVALID_ARG_TYPE',
  );
}

/** An argument of the right type but an unusable value (`ERR_INVALID_ARG_VALUE`). */
export function invalidArgValue(argument: string, reason: string, received: unknown): TypeError {
  return withCode(
    new TypeError(`The "${argument}" argument ${reason}. Received ${describe(received)}`),
    'ERR_INVALID_ARG_VALUE',
  );
}

/** A number outside its allowed range (`ERR_OUT_OF_RANGE`). */
export function outOfRange(argument: string, range: string, received: unknown): RangeError {
  return withCode(
    new RangeError(`The "${argument}" argument must be ${range}. Received ${describe(received)}`),
    'ERR_OUT_OF_RANGE',
  );
}

export function illegalConstructor(message: string): TypeError {
  return withCode(new TypeError(message), 'ERR_ILLEGAL_CONSTRUCTOR');
}

/** Short description of a received value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'function':
      return `function ${value.name || '<anonymous>'}`;
    case 'object': {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      return typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'an object';
    }
    case 'string': {
      const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return `type string ('${shown}')`;
    }
    case 'symbol':
      return `type symbol (${String(value)})`;
    case 'bigint':
      return `type bigint (${value}n)`;
    default:
      return `type ${typeof value} (${String(value)})`;
  }
}

/** A codec option: undefined, or an object with `encode` and `decode` functions. */
export function checkCodec(codec: unknown): void {
  if (codec === undefined) return;
  const { encode, decode } = (codec ?? {}) as { encode?: unknown; decode?: unknown };
  if (typeof codec !== 'object' || typeof encode !== 'function' || typeof decode !== 'function') {
    throw invalidArgType('options.codec', 'an object with encode and decode functions', codec);
  }
}
