import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SigningKey } from './options.js';

/** HMAC-SHA256 of `body`, base64url without padding (43 characters). */
export function signatureOf(body: string, key: SigningKey): string {
  return createHmac('sha256', key).update(body).digest('base64url');
}

/**
 * Whether `signature` is `body`'s under any of `keys`. The texts are compared,
 * not the bytes they decode to: the last base64url character carries two
 * bits the bytes ignore, and exactly one text may verify. Every key is tried
 * and compared in constant time, so the time taken says nothing of which
 * key matched or where the texts differ.
 */
export function verifies(body: string, signature: string, keys: readonly SigningKey[]): boolean {
  const given = Buffer.from(signature, 'latin1');
  let matched = false;
  for (const key of keys) {
    const expected = Buffer.from(signatureOf(body, key), 'latin1');
    if (expected.length === given.length && timingSafeEqual(expected, given)) matched = true;
  }
  return matched;
}
