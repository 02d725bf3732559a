// A worker filename that works both ways: under tsx in development this file
// runs as pool.ts and its worker is hash.ts; compiled for production they are
// pool.js and hash.js, side by side. The worker is named with this file's own
// extension, and under tsx the workers get the loader too (Node 20 applies
// only its CommonJS hook in worker threads).
import { ContextPool } from 'contextvars/workers';

const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

export const pool = new ContextPool({
  filename: new URL(`./hash${extension}`, import.meta.url).href,
  ...(extension === '.ts' && { execArgv: ['--import', 'tsx', '--require', 'tsx/cjs'] }),
});
