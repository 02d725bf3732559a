// The pool's worker module: hash.ts under tsx in development, hash.js compiled.
import { pbkdf2Sync } from 'node:crypto';
import { requestId } from './context.js';

export default function hash({ password }: { password: string }): string {
  const digest = pbkdf2Sync(password, 'salt', 1_000, 8, 'sha256').toString('hex');
  return `${requestId.get()}:${digest}`;
}
