import { copyContext, copyOf, enter } from './context.js';
import { invalidArgType } from './errors.js';

/**
 * Python's `asyncio.create_task` with eager start: calls `fn(...args)` at
 * once inside a copy of the current context and returns its result as a
 * promise. Changes the task makes never reach the caller, and later changes
 * by the caller never reach the task. A synchronous throw becomes a rejection.
 *
 * Like any promise, a task that fails with nobody awaiting it is an unhandled
 * rejection.
 *
 * @example
 * await Promise.all([createTask(handle, 1), createTask(handle, 2)]); // each in its own copy
 */
export function createTask<A extends unknown[], R>(
  fn: (...args: A) => R | PromiseLike<R>,
  ...args: A
): Promise<R> {
  if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
  return enter(copyContext(), startTask, [fn, args] as [typeof fn, A]);
}

function startTask<A extends unknown[], R>(
  fn: (...args: A) => R | PromiseLike<R>,
  args: A,
): Promise<R> {
  try {
    // Inside the task's context, so a thenable's `then` also runs there.
    return Promise.resolve(fn(...args));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Captures the current context now; each call of the returned function runs
 * `fn` in a fresh copy of that capture, so calls never see each other's
 * changes. `createServer(bind(handler))` gives every request its own context.
 *
 * @example
 * setInterval(bind(tick), 1000); // every tick starts from the context at bind time
 */
export function bind<This, A extends unknown[], R>(
  fn: (this: This, ...args: A) => R,
): (this: This, ...args: A) => R {
  if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
  const captured = copyContext();
  return function bound(this: This, ...args: A): R {
    return enter(copyOf(captured), Reflect.apply, [fn, this, args]) as R;
  };
}
