import { createHmac } from 'node:crypto';
import { asciiJson } from '../../src/serialization/ascii.js';

/** What a hand-made signed json snapshot holds. */
export interface SignedFields {
  /** Format version (2 binds the use; 1 names none). */
  readonly v: number;
  /** Signing time, in milliseconds since the epoch. */
  readonly t: number;
  /** The use it is signed for; left out for none. */
  readonly u?: string;
  /** The flat `name, flags, payload` entry list. */
  readonly e: readonly unknown[];
}

/**
 * A signed json snapshot written by hand, the way the format is specified
 * (`{"v":..,"f":"j","t":..,"u":..,"e":[..],"s":"<HMAC-SHA256 of the text
 * before it, closed with }>"}`), in printable ASCII: for the versions,
 * times and entries a writer of today would not produce (an old `t`, a
 * version-1 sender, entries a fuzzer made).
 */
export function signedText(key: string | Buffer, fields: SignedFields): string {
  const use = fields.u === undefined ? '' : `,"u":${JSON.stringify(fields.u)}`;
  const body = `{"v":${fields.v},"f":"j","t":${fields.t}${use},"e":${asciiJson(fields.e)}}`;
  const mac = createHmac('sha256', key).update(body).digest('base64url');
  return `${body.slice(0, -1)},"s":"${mac}"}`;
}
