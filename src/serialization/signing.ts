import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SigningKey } from './options.js';

/** HMAC-SHA256 of `body`, base64url (43 characters). */
export function signatureOf(body: string, key: SigningKey): string {
  return createHmac('sha256', key).update(body).digest('base64url');
}

/** Whether `signature` is `body`'s under any of `keys`, compared in constant time. */
export function verifies(body: string, signature: string, keys: readonly SigningKey[]): boolean {
  const given = Buffer.from(signature, 'base64url');
  let matched = false;
  for (const key of keys) {
    const expected = createHmac('sha256', key).update(body).digest();
    // Every key is tried, so the time taken does not say which one matched.
    if (expected.length === given.length && timingSafeEqual(expected, given)) matched = true;
  }
  return matched;
}
