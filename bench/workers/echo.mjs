// The worker module both pools run: the cost measured is the pool's, not the task's.
export default function echo(task) {
  return task;
}
