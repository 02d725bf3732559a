import { afterAll } from 'vitest';
import { ContextPool, type ContextPoolOptions } from '../../dist/workers/index.js';

/** A fixture module of test/workers/fixtures, as a file URL. */
export const fixture = (name: string) => new URL(`fixtures/${name}`, import.meta.url).href;

/**
 * A pool factory for one test file: every pool it makes (with `defaults`
 * under the given options) is destroyed when the file's tests are done.
 */
export function poolsFor(
  defaults: ContextPoolOptions = {},
): (options?: ContextPoolOptions) => ContextPool {
  const pools: ContextPool[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.destroy()));
  });
  return (options = {}) => {
    const created = new ContextPool({ ...defaults, ...options });
    pools.push(created);
    return created;
  };
}
