import type { EncodedEntries, IncomingEntry } from './entries.js';
import { checkVersion, FORMAT_VERSION, malformed, readEntries } from './envelope.js';
import type { Limits } from './options.js';

/**
 * A snapshot in the `structured` format: a plain object for `postMessage`.
 * `e` lists `name, flags, payload` for each entry; the payload is the value
 * itself (the structured clone of postMessage copies it) or its records.
 */
export interface StructuredSnapshot {
  readonly v: number;
  readonly f: 's';
  readonly e: readonly unknown[];
}

const envelopes = new WeakMap<EncodedEntries, StructuredSnapshot>();

export function toStructured(encoded: EncodedEntries): StructuredSnapshot {
  let envelope = envelopes.get(encoded);
  if (envelope === undefined) {
    envelope = { v: FORMAT_VERSION, f: 's' as const, e: encoded.entries };
    envelopes.set(encoded, envelope);
  }
  return envelope;
}

export function fromStructured(input: object, limits: Limits): IncomingEntry[] {
  const { v, f, e } = input as Partial<Record<string, unknown>>;
  checkVersion(v);
  if (f !== 's') throw malformed(`its format is ${JSON.stringify(f) ?? 'missing'}, not structured`);
  return readEntries(e, limits, 'size-and-depth');
}
