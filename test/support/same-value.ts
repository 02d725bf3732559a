/**
 * Structural equality for values that went through a snapshot: Object.is for
 * primitives (so -0 and NaN count), the same shape of shared references and
 * cycles, Map/Set/Date/RegExp/typed arrays by content, and Errors by class,
 * name, message, stack, cause and own primitive properties. Returns the path
 * of the first difference, or undefined when equal.
 */
export function firstDifference(a: unknown, b: unknown): string | undefined {
  return compare(a, b, '$', new Map());
}

function compare(
  a: unknown,
  b: unknown,
  path: string,
  pairs: Map<object, object>,
): string | undefined {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    return Object.is(a, b) ? undefined : path;
  }
  const paired = pairs.get(a);
  if (paired !== undefined) return paired === b ? undefined : `${path} (shared reference)`;
  pairs.set(a, b);
  const tag = Object.prototype.toString.call(a);
  if (tag !== Object.prototype.toString.call(b)) return `${path} (kind)`;
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime()) ? undefined : path;
  if (a instanceof RegExp) return String(a) === String(b) ? undefined : path;
  if (ArrayBuffer.isView(a) || a instanceof ArrayBuffer) {
    const bytes = (x: ArrayBufferView | ArrayBuffer) =>
      ArrayBuffer.isView(x) ? Buffer.from(x.buffer, x.byteOffset, x.byteLength) : Buffer.from(x);
    if (a.constructor !== (b as object).constructor) return `${path} (type)`;
    return bytes(a).equals(bytes(b as ArrayBuffer)) ? undefined : path;
  }
  if (a instanceof Map) {
    const entriesA = [...a];
    const entriesB = [...(b as Map<unknown, unknown>)];
    if (entriesA.length !== entriesB.length) return `${path} (size)`;
    for (let i = 0; i < entriesA.length; i++) {
      const [ka, va] = entriesA[i] as [unknown, unknown];
      const [kb, vb] = entriesB[i] as [unknown, unknown];
      const diff =
        compare(ka, kb, `${path}<key ${i}>`, pairs) ??
        compare(va, vb, `${path}<value ${i}>`, pairs);
      if (diff) return diff;
    }
    return undefined;
  }
  if (a instanceof Set)
    return compare([...a], [...(b as Set<unknown>)], `${path}<set>`, new Map(pairs));
  if (a instanceof Error) {
    const eb = b as Error;
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(eb)) return `${path} (error class)`;
    for (const key of ['name', 'message', 'stack'] as const) {
      if (a[key] !== eb[key]) return `${path}.${key}`;
    }
    if ('cause' in a !== 'cause' in eb) return `${path}.cause (presence)`;
    const diff = 'cause' in a ? compare(a.cause, eb.cause, `${path}.cause`, pairs) : undefined;
    if (diff) return diff;
  }
  if (Array.isArray(a)) {
    const arrayB = b as unknown[];
    if (a.length !== arrayB.length) return `${path}.length`;
    for (let i = 0; i < a.length; i++) {
      if (i in a !== i in arrayB) return `${path}[${i}] (hole)`;
    }
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.join('\0') !== keysB.join('\0')) return `${path} (keys ${keysA} vs ${keysB})`;
  for (const key of keysA) {
    const diff = compare(
      (a as Record<string, unknown>)[key],
      (b as Record<string, unknown>)[key],
      `${path}.${key}`,
      pairs,
    );
    if (diff) return diff;
  }
  return undefined;
}
