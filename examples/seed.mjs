// The project's seed example: Python's asyncio.gather of three tasks, written
// with createTask. Prints the same seven lines as the Python program.
import { setTimeout as sleep } from 'node:timers/promises';
import { ContextVar, copyContext, createTask } from 'contextvars';

const requestId = new ContextVar('request_id', { default: 0 });
const all = new ContextVar('all', { default: '' });

async function processRequest(id) {
  requestId.set(id);
  await sleep(1000);
  console.log(`Processing request: ${requestId.get()}`);
  if (id === 2) all.set(`test${id}`);
  console.log(`Processing all: ${all.get()}`);
}

async function main() {
  all.set('test_all');
  // Each createTask runs in its own copy, as asyncio.gather wraps coroutines in Tasks.
  // Promise.all of plain processRequest(n) calls would share (and clobber) one context.
  await Promise.all([
    createTask(processRequest, 1),
    createTask(processRequest, 2),
    createTask(processRequest, 3),
  ]);
  console.log(`Processing all: ${all.get()}`);
}

// asyncio.run(main()) runs main in a Task of its own.
await createTask(main);

// The seed's copy_context example.
const variable = new ContextVar('var');
variable.set('original');
const ctxCopy = copyContext();
ctxCopy.run(() => variable.set('copied'));
console.log(variable.get()); // original
console.log(ctxCopy.run(() => variable.get())); // copied
