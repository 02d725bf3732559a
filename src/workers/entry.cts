/**
 * The worker entry of a ContextPool: piscina's `filename`. It is CommonJS on
 * purpose: piscina loads its `filename` with `require()`, and on Node 20 a
 * worker terminated (an abort, a destroy) while `require()` loads an ES
 * module takes the whole process down with a failed assertion in Node's
 * module loader. So this file loads the task runner (ESM) with `import()`,
 * which a termination stops cleanly; it starts at once, while piscina starts
 * the worker, and the first task waits for it.
 */
type RunTask = (message: unknown) => unknown;

let runTask: RunTask | undefined;
const loading: Promise<RunTask> = import('./run-task.js').then((module) => {
  runTask = module.default;
  return runTask;
});
// A failed load fails the tasks that need it, not the worker between tasks.
loading.catch(() => {});

module.exports = function runContextPoolTask(message: unknown): unknown {
  return runTask === undefined ? loading.then((run) => run(message)) : runTask(message);
};
