/**
 * The wire vocabulary: every term a sender and a receiver must agree on. The
 * writers (`write/`) and readers (`read/`) import these names; no tag, flag,
 * version or size rule is spelled anywhere else.
 */

/**
 * Format versions. A reader accepts its own version and the one before it,
 * and refuses newer ones: a sender upgraded first must not be misread.
 * Version 2 binds a signature to its use (`USE_FIELD`); a signed version-1
 * text names none, so a reader with a key takes it only when told to
 * (`acceptUnbound`).
 */
export const FORMAT_VERSION = 2;
export const OLDEST_READABLE_VERSION = Math.max(1, FORMAT_VERSION - 1);
/** The first version whose signed texts name their use. */
export const BOUND_USE_VERSION = 2;

/** How every json snapshot's text starts: its version comes first. */
export const JSON_SNAPSHOT_START = '{"v":';

/**
 * The signed json fields: `"t"`, the signing time in milliseconds since the
 * epoch, and `"u"`, the use the signature was made for (absent for none).
 * Both lie inside the text the MAC covers.
 */
export const TIME_FIELD = 't';
export const USE_FIELD = 'u';

/**
 * What a use is: 1 to `MAX_USE_LENGTH` printable ASCII characters, so it
 * travels as it is in a header and reads back as it was written.
 */
export const MAX_USE_LENGTH = 128;
const USE_TEXT = /^[\x20-\x7e]+$/;

export function isUse(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_USE_LENGTH && USE_TEXT.test(value);
}

/** The envelope's `f` field: which format a snapshot is in. */
export const FORMAT_TAG = { structured: 's', json: 'j' } as const;

/**
 * A snapshot's entries are a flat list `name, flags, payload, ...`; these are
 * the bits of `flags`.
 */
export const ENTRY_FLAG = {
  /** The payload is a record list (`RECORD` below), not the value itself. */
  records: 1,
  /** The sender's var encoded the value with its codec; the receiver's decodes it. */
  coded: 2,
  /** The value is deep-frozen plain data: the receiver freezes it again. */
  frozen: 4,
} as const;
/** Every flag bit together: a flags field with any other bit set is malformed. */
export const ENTRY_FLAGS_ALL = ENTRY_FLAG.records | ENTRY_FLAG.coded | ENTRY_FLAG.frozen;
/** Fields per entry in the flat list. */
export const ENTRY_FIELDS = 3;

/**
 * Record types. A record list is `[type, payload]` pairs; record 0 is the
 * value and containers refer to other records by index, so shared references
 * and cycles survive. The numbers are structured-clone-es's record format
 * (what the json format's records are read as); the `~` types are this
 * package's, for what that format loses.
 */
export const RECORD = {
  undefined: -1,
  /** A string, boolean, null or finite number other than -0. */
  primitive: 0,
  array: 1,
  /** `[[keyRef, valueRef], ...]`; keys are primitive string records. */
  object: 2,
  /** An ISO string, or null for an invalid Date. */
  date: 3,
  regexp: 4,
  map: 5,
  set: 6,
  /** `{ name, message, stack?, cause?, errors?, props? }`; props are `[[keyRef, valueRef], ...]`. */
  error: 7,
  /** Decimal digits. */
  bigint: 8,
  /** -0, NaN, Infinity or -Infinity, by name. */
  number: '~num',
  /** An array with holes: one slot per index, `HOLE` for a hole. */
  sparse: '~sparse',
  /** An ArrayBuffer as base64. */
  buffer: '~buffer',
  /** `[typeName, bufferRef, byteOffset, length]`; bufferRef names a `~buffer` record. */
  view: '~view',
} as const;
/** A hole in a `~sparse` slot list (record indexes are never negative). */
export const HOLE = -1;

/**
 * How deep a record list itself nests (list, record, payload, entry pair,
 * reference). A records payload is measured with this allowance, whatever
 * `maxDepth` says; the depth of the value it stands for is checked while it
 * is decoded.
 */
export const RECORD_LIST_DEPTH = 8;

/**
 * Byte accounting: what counts against `maxBytes`, the same rule on both
 * sides, about the length of the data as JSON. An entry list counts its two
 * brackets, and each entry its name, its payload and `ENTRY_OVERHEAD` (the
 * name's quotes, a one-digit flags field and the three commas around them).
 */
export const LIST_OVERHEAD = 2;
export const ENTRY_OVERHEAD = 6;

export function entryBytes(name: string, payloadBytes: number): number {
  return name.length + ENTRY_OVERHEAD + payloadBytes;
}

/**
 * What containers and other non-primitives count for on top of their
 * contents, roughly their JSON punctuation. The walk measures a value with
 * these, and a decoder charges its budget with them for what it builds.
 */
export const VALUE_BYTES = {
  container: 2,
  element: 1,
  /** A key's quotes and colon. */
  property: 3,
  sharedReference: 1,
  date: 26,
  regexp: 2,
  /** Name, message and stack fields around their text. */
  error: 16,
  /** A buffer's quotes around its base64. */
  buffer: 2,
} as const;

/** What `byteLength` bytes count for: they travel as base64. */
export function bufferBytes(byteLength: number): number {
  return Math.ceil((byteLength * 4) / 3) + VALUE_BYTES.buffer;
}

/**
 * Hexadecimal digits to decimal ones: log10(16). A BigInt is measured by its
 * hexadecimal length, which takes linear time, where the decimal string
 * takes superlinear time (seconds for a 4 MiB BigInt).
 */
const DECIMAL_DIGITS_PER_HEX_DIGIT = Math.log10(16);

/**
 * The most decimal digits a BigInt may have in a snapshot or a thrown value:
 * reading one from records takes superlinear time (about 40 us at this size,
 * 4 ms at 65,536 digits), and an input may hold many.
 */
export const MAX_BIGINT_DIGITS = 4096;

/** Decimal digits of a BigInt, rounded up, without converting it to decimal. */
export function bigintDigits(value: bigint): number {
  const hex = (value < 0n ? -value : value).toString(16).length;
  return Math.ceil(hex * DECIMAL_DIGITS_PER_HEX_DIGIT);
}

/** What a primitive counts for. */
export function primitiveBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'number':
      return 1;
    case 'bigint':
      return bigintDigits(value) + 2;
    default:
      return 4;
  }
}

/** Size and nesting limits; both sides enforce them. */
export interface Limits {
  /** Largest input accepted, in the units of the accounting above. */
  readonly maxBytes: number;
  /** Deepest nesting of containers (objects, arrays, maps, sets, errors) in one value. */
  readonly maxDepth: number;
}

/**
 * The deepest `maxDepth` a caller may ask for: walking and decoding recurse
 * once per level, and past a few thousand levels the stack would overflow.
 */
export const MAX_DEPTH_LIMIT = 1000;

/**
 * Default limits. `json` snapshots usually travel in an HTTP header, and Node
 * refuses requests whose headers together exceed 16 KiB by default: a larger
 * context could not arrive that way anyway. `structured` snapshots travel
 * between threads of one process.
 */
export const DEFAULT_LIMITS = {
  json: { maxBytes: 16 * 1024, maxDepth: 64 },
  structured: { maxBytes: 4 * 1024 * 1024, maxDepth: 64 },
} as const satisfies Record<'json' | 'structured', Limits>;

/**
 * Limits on a value thrown by a task or a comlink call, on both sides: they
 * are the task's own business, so only the structured defaults apply.
 */
export const THROWN_LIMITS: Limits = DEFAULT_LIMITS.structured;

/**
 * How much a decoder may build per unit of input it reads: every record is
 * at least as large as what it decodes to (a hole is a slot, a reference a
 * slot), so 1 would do; 4 leaves room for rounding in the accounting.
 */
export const DECODE_AMPLIFICATION = 4;

/** Marks a thrown value carried as records (`{ [THROWN_MARK]: THROWN_VERSION, r: records }`). */
export const THROWN_MARK = 'cvThrown';
export const THROWN_VERSION = 1;
