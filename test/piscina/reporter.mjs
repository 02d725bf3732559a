// A node:test reporter writing one JSON line per finished test:
// { file, path: [suite..., name], status: 'pass' | 'fail' | 'skip' | 'todo', error? }.
import { relative } from 'node:path';

export default async function* jsonLines(source) {
  const open = [];
  for await (const event of source) {
    const { data } = event;
    if (event.type === 'test:start') {
      open[data.nesting] = data.name;
      continue;
    }
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (data.details?.type === 'suite') continue;
    const status =
      data.skip !== undefined ? 'skip' : data.todo !== undefined ? 'todo' : event.type.slice(5);
    const error = data.details?.error;
    yield `${JSON.stringify({
      file: data.file === undefined ? '' : relative(process.cwd(), data.file),
      path: [...open.slice(0, data.nesting), data.name],
      status,
      ...(status === 'fail' ? { error: describe(error) } : {}),
      ...(status === 'skip' && typeof data.skip === 'string' ? { reason: data.skip } : {}),
    })}\n`;
  }
}

function describe(error) {
  if (error === undefined) return 'failed';
  const cause = error.cause ?? error;
  return String(cause?.stack ?? cause?.message ?? cause).slice(0, 4000);
}
