import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ContextPoolError } from './errors.js';

type Handler = (task: unknown) => unknown;

const requireHere = createRequire(import.meta.url);

/** Handlers by the pool's id for their (module, export): loaded, or loading. */
const handlers = new Map<number, Handler | Promise<Handler>>();

/** A module reference as `import()` takes it: file paths become file URLs. */
export function moduleUrl(filename: string): string {
  let url = urls.get(filename);
  if (url === undefined) {
    url =
      /^[a-z][a-z\d+.-]*:/i.test(filename) && !/^[a-z]:[\\/]/i.test(filename)
        ? filename
        : pathToFileURL(filename).href;
    urls.set(filename, url);
  }
  return url;
}

const urls = new Map<string, string>();

/**
 * The user's handler for the pool's handler id, loaded once. Called before a
 * task enters its context, so the module's top-level code (and any timer it
 * starts) runs in the worker's root context, never in the context of the task
 * that happened to load it. Undefined when this worker does not know the id
 * and the message does not say what it stands for.
 */
export function handlerById(
  id: number,
  url: string | null,
  name: string | null,
): Handler | Promise<Handler> | undefined {
  const known = handlers.get(id);
  if (known !== undefined || url === null || name === null) return known;
  const loading = load(url, name).then(
    (handler) => {
      handlers.set(id, handler);
      return handler;
    },
    (error: unknown) => {
      // A failed load is retried by the next task rather than remembered.
      handlers.delete(id);
      throw error;
    },
  );
  handlers.set(id, loading);
  return loading;
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
