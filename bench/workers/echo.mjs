// The worker module both pools run: the cost measured is the pool's, not the task's.
// Like a real server's worker, it declares the var it would read (the request id);
// the other vars of the context arrive under names it does not declare.
import { ContextVar } from '../../dist/index.js';

export const requestId = new ContextVar('request_id', { default: 'none' });

export default function echo(task) {
  return task;
}
