import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use after a full collection. */
export function heapAfterGc(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

export { gc as collectGarbage };

/**
 * Collects what is unreachable, including targets of WeakRefs made in the
 * current job (kept alive until it ends), by yielding to the event loop first.
 */
export async function collectUnreachable(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  gc();
}
