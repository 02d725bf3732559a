import { types } from 'node:util';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { describe } from '../context/internal.js';
import { kindOf } from '../serialization/kinds.js';
import { ContextPoolError } from './errors.js';
import { unwrapMovable } from './protocol.js';

/**
 * Whether structured clone (what piscina posts a result with) would refuse a
 * value, and where inside it. A refused result must never reach piscina: the
 * worker would throw while posting it and die with every task it runs.
 *
 * One walk finds what clone refuses by kind (functions, symbols) and the
 * objects whose fate only V8 knows: class instances and host objects
 * (`Intl.*`, `MessagePort`, `WebAssembly.Memory`, `FinalizationRegistry`...),
 * proxies, promises, and possibly detached buffers. Only those are tried
 * through a private MessageChannel, each on its own, so plain data costs the
 * walk alone and a refusal names its path.
 */
export function cloneRefusal(
  value: unknown,
  transferList: readonly unknown[] = [],
): string | undefined {
  const seen = new Set<object>();
  const stack: Array<[value: unknown, path: string]> = [[value, '']];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [node, path] = item;
    if (typeof node === 'function') return refusedAt(path, 'is a function');
    if (typeof node === 'symbol') return refusedAt(path, 'is a symbol');
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    seen.add(node);
    // Reading a Proxy runs its traps, and clone refuses it anyway.
    if (types.isProxy(node)) return refusedAt(path, 'is a Proxy');
    const kind = kindOf(node);
    switch (kind) {
      case 'object':
      case 'array':
        for (const key of Object.keys(node)) {
          stack.push([(node as Record<string, unknown>)[key], `${path}${segment(key)}`]);
        }
        break;
      case 'map':
        for (const [key, entry] of node as Map<unknown, unknown>) {
          stack.push([key, `${path}.<key>`], [entry, `${path}.get(${describe(key)})`]);
        }
        break;
      case 'set':
        for (const entry of node as Set<unknown>) stack.push([entry, `${path}.<entry>`]);
        break;
      case 'date':
      case 'regexp':
        break;
      case 'arraybuffer':
      case 'view':
        // A detached buffer has no bytes; so has an empty one, which clones fine.
        if (bufferOf(node).byteLength === 0) {
          const refused = tryClone(node, transferList);
          if (refused !== undefined) return refusedAt(path, `is ${describe(node)} (${refused})`);
        }
        break;
      default: {
        // Instances, errors and everything kinds refuse in snapshots: V8 decides.
        const refused = tryClone(node, transferList);
        if (refused !== undefined) return refusedAt(path, `is ${describe(node)} (${refused})`);
      }
    }
  }
  return undefined;
}

/**
 * Refuses, before piscina posts it, a result that structured clone would
 * reject: posting it would crash the worker and every task on it.
 */
export function checkResult(result: unknown): void {
  if (typeof result !== 'object' || result === null) {
    if (typeof result !== 'function' && typeof result !== 'symbol') return;
  }
  const movable = unwrapMovable(result);
  const refusal =
    movable === undefined
      ? cloneRefusal(result)
      : cloneRefusal(movable.value, movable.transferList);
  if (refusal !== undefined) {
    throw new ContextPoolError(
      'ERR_TASK_RESULT',
      `The task's result cannot be sent back to the caller: ${refusal}`,
    );
  }
}

function refusedAt(path: string, what: string): string {
  return `the value${path === '' ? '' : ` at ${path}`} ${what}`;
}

function segment(key: string): string {
  return /^\d+$/.test(key)
    ? `[${key}]`
    : /^[A-Za-z_$][\w$]*$/.test(key)
      ? `.${key}`
      : `[${JSON.stringify(key)}]`;
}

function bufferOf(node: object): { byteLength: number } {
  return ArrayBuffer.isView(node) ? node.buffer : (node as ArrayBuffer);
}

let trial: MessageChannel | undefined;

/**
 * Clones `node` through a private channel and throws the copy away; undefined
 * if that worked, else why not. What the task moves (`Piscina.move`) is not
 * tried: it will be transferred, and a trial would transfer it here.
 */
function tryClone(node: object, transferList: readonly unknown[]): string | undefined {
  if (transferList.includes(node)) return undefined;
  if (trial === undefined) {
    trial = new MessageChannel();
    trial.port1.unref();
    trial.port2.unref();
  }
  try {
    trial.port1.postMessage(node);
    receiveMessageOnPort(trial.port2);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
