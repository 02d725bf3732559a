import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ContextPoolError } from './errors.js';

type Handler = (task: unknown) => unknown;

const requireHere = createRequire(import.meta.url);

/** What each of the pool's handler ids stands for, as the pool introduced it. */
const introduced = new Map<number, { readonly url: string; readonly name: string }>();
/** Handlers by id: loaded, or loading. */
const handlers = new Map<number, Handler | Promise<Handler>>();
let modulesLoaded = 0;

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

/** Remembers what a handler id stands for; the pool says it once per worker. */
export function introduce(id: number, url: string, name: string): void {
  if (!introduced.has(id)) introduced.set(id, { url, name });
}

/** How many user modules this worker has loaded: each may have declared vars. */
export function loadedModules(): number {
  return modulesLoaded;
}

/**
 * The user's handler for the pool's handler id, loaded once. Called before a
 * task enters its context, so the module's top-level code (and any timer it
 * starts) runs in the worker's root context, never in the context of the task
 * that happened to load it. A failed load is tried again by the next task.
 */
export function handlerById(id: number): Handler | Promise<Handler> {
  const known = handlers.get(id);
  if (known !== undefined) return known;
  const introduction = introduced.get(id);
  // The pool introduces every handler id with the first task that names it here.
  if (introduction === undefined) throw new Error(`internal: handler ${id} was never introduced`);
  const loading = load(introduction.url, introduction.name).then(
    (handler) => {
      handlers.set(id, handler);
      return handler;
    },
    (error: unknown) => {
      handlers.delete(id);
      throw error;
    },
  );
  handlers.set(id, loading);
  return loading;
}

/**
 * Loads the module: CommonJS through `require()` (as piscina does, so
 * require hooks apply), ES modules through `import()` (also when `require`
 * could load them: a worker terminated while `require()` loads an ES module
 * takes the whole process down on Node 20). A TypeScript file nothing here
 * can load is named, with the fix.
 */
async function importModule(url: string): Promise<Record<string, unknown>> {
  try {
    if (url.startsWith('file:')) {
      const path = fileURLToPath(url);
      if (isCommonJs(path)) return { default: requireHere(path) as unknown };
    }
    return await importOrRequire(url);
  } catch (error) {
    if (url.startsWith('file:') && isTypeScript(url) && isUnloadable(error)) {
      throw noLoader(url, error);
    }
    throw isMissingOrBroken(error) ? notLoadable(url, error) : error;
  } finally {
    modulesLoaded++;
  }
}

/**
 * `import()`; for a file `import()` cannot read (a `.ts` file in a Node 20
 * worker, which ignores `--import` hooks), `require()`, so that a CommonJS
 * hook such as `--require tsx/cjs` can load it.
 */
async function importOrRequire(url: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !url.startsWith('file:')) throw error;
    return { default: requireHere(fileURLToPath(url)) as unknown };
  }
}

/** Whether Node reads the file as CommonJS: by extension, else by the nearest package.json's `type`. */
function isCommonJs(path: string): boolean {
  const extension = extname(path);
  if (/^\.c[jt]s$/.test(extension)) return true;
  if (/^\.m[jt]s$/.test(extension)) return false;
  return packageType(dirname(path)) !== 'module';
}

const packageTypes = new Map<string, string | undefined>();

function packageType(dir: string): string | undefined {
  if (packageTypes.has(dir)) return packageTypes.get(dir);
  let type: string | undefined;
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      type?: unknown;
    };
    type = typeof manifest.type === 'string' ? manifest.type : 'commonjs';
  } catch {
    const parent = dirname(dir);
    type = parent === dir ? undefined : packageType(parent);
  }
  packageTypes.set(dir, type);
  return type;
}

/** How Node fails on TypeScript it cannot read: an unknown extension, TS syntax read as JS, or (Node 20) an assertion. */
function isUnloadable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    error instanceof SyntaxError ||
    code === 'ERR_UNKNOWN_FILE_EXTENSION' ||
    code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX' ||
    code === 'ERR_INTERNAL_ASSERTION'
  );
}

/** The module (or one it imports) does not exist, or is not valid JavaScript. */
function isMissingOrBroken(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    error instanceof SyntaxError || code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
  );
}

function notLoadable(url: string, cause: unknown): ContextPoolError {
  const file = url.startsWith('file:') ? fileURLToPath(url) : url;
  const why = cause instanceof Error ? cause.message : String(cause);
  return new ContextPoolError(
    'ERR_WORKER_MODULE',
    `The worker module ${file} cannot be loaded: ${why}`,
    { cause },
  );
}

function isTypeScript(url: string): boolean {
  return /^\.[cm]?tsx?$/.test(extname(new URL(url).pathname));
}

function noLoader(url: string, cause: unknown): ContextPoolError {
  return new ContextPoolError(
    'ERR_WORKER_MODULE',
    `The worker module ${fileURLToPath(url)} is TypeScript and this Node cannot load it: give the pool a loader, ` +
      "e.g. new ContextPool({ filename, execArgv: ['--import', 'tsx', '--require', 'tsx/cjs'] }) " +
      '(see the README, "TypeScript workers"), or point filename at the compiled .js file.',
    { cause },
  );
}

/**
 * The handler the export names, as piscina finds it: the module's export, or
 * a property of a CommonJS `module.exports` (also one hung on an exported
 * function); an export that is a promise of the handler is awaited.
 */
async function load(url: string, name: string): Promise<Handler> {
  const module = await importModule(url);
  const exports = module.default as unknown;
  let candidate: unknown = await module[name];
  if (name === 'default' && typeof candidate === 'object' && candidate !== null) {
    // A CommonJS module whose exports carry their own `default` (compiled ESM).
    candidate = await (candidate as Record<string, unknown>).default;
  }
  if (typeof candidate !== 'function' && name !== 'default' && isObjectLike(exports)) {
    candidate = await (exports as Record<string, unknown>)[name];
  }
  if (typeof candidate !== 'function') {
    throw new ContextPoolError(
      'ERR_NO_HANDLER',
      `No handler function exported as '${name}' from ${url}`,
    );
  }
  return candidate as Handler;
}

function isObjectLike(value: unknown): boolean {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}
