/**
 * Deep-frozen plain data: plain objects and arrays frozen all the way down to
 * primitives. Such a value cannot change behind a cache's back, so its
 * encoding may be reused; anything else is encoded at call time. Positive
 * answers are remembered (a frozen object stays frozen); negative ones are
 * not (it may be frozen later).
 */
const deepFrozen = new WeakSet<object>();

export function isDeepFrozen(value: object): boolean {
  if (deepFrozen.has(value)) return true;
  // Most values are not frozen at all: answered before the walk's Set is made.
  if (!Object.isFrozen(value)) return false;
  const reached = new Set<object>();
  if (!check(value, reached)) return false;
  // Remembered only once the whole graph passed: a part reached through a
  // cycle is not deep-frozen on its own until everything it reaches is.
  for (const object of reached) deepFrozen.add(object);
  return true;
}

function check(value: object, reached: Set<object>): boolean {
  if (deepFrozen.has(value) || reached.has(value)) return true;
  if (!Object.isFrozen(value)) return false;
  const proto = Object.getPrototypeOf(value);
  const plain = Array.isArray(value)
    ? proto === Array.prototype
    : proto === Object.prototype || proto === null;
  if (!plain) return false;
  reached.add(value);
  for (const key of Object.keys(value)) {
    // A getter can return something new each time, frozen or not.
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (descriptor === undefined || !('value' in descriptor)) return false;
    const item: unknown = descriptor.value;
    if (typeof item === 'object' && item !== null) {
      if (!check(item, reached)) return false;
    } else if (typeof item === 'function' || typeof item === 'symbol') {
      return false;
    }
  }
  return true;
}

/**
 * Freezes plain data that arrived marked as deep-frozen by its sender, so it
 * stays immutable on this side too (native cloning drops frozenness).
 */
export function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  deepFrozen.add(value);
}
