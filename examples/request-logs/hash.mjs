// Runs in the pool's worker threads: logs through the same logger, and the
// lines carry the request's id and tenant without being given them.
import { pbkdf2Sync } from 'node:crypto';
import { log } from './log.mjs';

export default function hash({ password, iterations }) {
  const started = performance.now();
  const digest = pbkdf2Sync(password, 'salt', iterations, 32, 'sha256').toString('hex');
  log.info({ ms: Math.round(performance.now() - started) }, 'hashed a password');
  return digest;
}
