import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ContextPoolError } from './errors.js';

type Handler = (task: unknown) => unknown;

const requireHere = createRequire(import.meta.url);

const handlers = new Map<string, Promise<Handler>>();

/** A module reference as `import()` takes it: file paths become file URLs. */
export function moduleUrl(filename: string): string {
  return /^[a-z][a-z\d+.-]*:/i.test(filename) && !/^[a-z]:[\\/]/i.test(filename)
    ? filename
    : pathToFileURL(filename).href;
}

/**
 * The user's handler, loaded once per module and export. Called before a task
 * enters its context, so the module's top-level code (and any timer it starts)
 * runs in the worker's root context, never in the context of the task that
 * happened to load it.
 */
export function handlerFor(url: string, name: string): Promise<Handler> {
  const key = `${url}#${name}`;
  let handler = handlers.get(key);
  if (handler === undefined) {
    handler = load(url, name);
    handlers.set(key, handler);
    // A failed load is retried by the next task rather than cached.
    handler.catch(() => handlers.delete(key));
  }
  return handler;
}

/**
 * Imports the module; if `import()` does not know its file extension (a `.ts`
 * file on Node 20, whose workers ignore `--import` hooks), `require()` gets a
 * chance, so a CommonJS hook such as `--require tsx/cjs` can load it, as
 * piscina itself would.
 */
async function importModule(url: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    if (
      (error as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION' ||
      !url.startsWith('file:')
    ) {
      throw error;
    }
    const required = requireHere(fileURLToPath(url)) as Record<string, unknown>;
    return { default: required, ...required };
  }
}

async function load(url: string, name: string): Promise<Handler> {
  const module = await importModule(url);
  const fallback = module.default as Record<string, unknown> | Handler | undefined;
  // ESM exports, or a CommonJS module's `module.exports` (a function, or an object of them).
  const candidate =
    name === 'default'
      ? typeof fallback === 'function'
        ? fallback
        : (fallback as Record<string, unknown> | undefined)?.default
      : (module[name] ?? (typeof fallback === 'object' ? fallback?.[name] : undefined));
  if (typeof candidate !== 'function') {
    throw new ContextPoolError(
      'ERR_NO_HANDLER',
      `No handler function exported as '${name}' from ${url}`,
    );
  }
  return candidate as Handler;
}
