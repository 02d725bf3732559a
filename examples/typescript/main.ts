// Runs one task in a request's context and prints what the worker saw:
// `node --import tsx examples/typescript/main.ts` in development, or
// `tsc -p examples/typescript` then `node examples/typescript/build/main.js`.
import { createTask } from 'contextvars';
import { requestId } from './context.js';
import { pool } from './pool.js';

const seen = await createTask(() => {
  requestId.set('r-1');
  return pool.runInContext<string>({ password: 'hunter2' });
});
console.log(`the worker saw ${seen}`);
await pool.close();
