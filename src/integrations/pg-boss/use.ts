import { invalidArgType, invalidArgValue } from '../../context/internal.js';

// TO BE REPLACED at merge by the shared `boundUse` of
// src/serialization/internal.ts (same signature), which the signing layer's
// `use` option comes with. Until then this one composes the same text.

const MOST = 128;
const PRINTABLE = /^[\x20-\x7e]+$/;

/**
 * The `use` a signature is bound to: `prefix` alone, or `prefix:suffix` when
 * the user narrows it. `argument` names the option at fault.
 */
export function boundUse(prefix: string, suffix: unknown, argument: string): string {
  if (suffix === undefined) return prefix;
  if (typeof suffix !== 'string') throw invalidArgType(argument, 'of type string', suffix);
  const use = `${prefix}:${suffix}`;
  if (suffix === '' || !PRINTABLE.test(suffix) || use.length > MOST) {
    throw invalidArgValue(
      argument,
      `must be printable ASCII, with '${prefix}:' before it at most ${MOST} characters`,
      suffix,
    );
  }
  return use;
}
