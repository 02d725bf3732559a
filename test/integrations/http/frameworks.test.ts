// One behaviour suite over real Express 5, Koa 3 and Fastify 5 servers on
// loopback: every request sets its own id and must see only that id.
import { describe, expect, it } from 'vitest';
import { poolsFor } from '../../workers/support.js';
import { frameworks } from './apps.js';
import { connectionsOf, keepAliveClient, listen } from './support.js';

const pool = poolsFor({ maxThreads: 2 })({
  filename: new URL('fixtures/worker.mjs', import.meta.url).href,
});
const CONCURRENT = 300;
const rootSets: string[] = [];
process.on('warning', (warning) => {
  if ((warning as { code?: string }).code === 'CONTEXTVARS_ROOT_SET')
    rootSets.push(warning.message);
});
const inParts = (text: string) => [text.slice(0, 3), text.slice(3)];

describe.each(Object.entries(frameworks))('requestScope on %s', (_name, build) => {
  const request = keepAliveClient(8);

  it(`keeps ${CONCURRENT} concurrent requests apart across awaits, timers and a pool call`, async () => {
    const server = await build({ pool });
    const connections = connectionsOf(server);
    const url = await listen(server);
    const answers = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) =>
        request(`${url}/id`, { headers: { 'x-id': `r-${i}` } }),
      ),
    );
    const mismatches = answers.flatMap((answer, i) => {
      const { seen } = JSON.parse(answer.body) as { seen: string[] };
      return seen.filter((id) => id !== `r-${i}`);
    });
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(mismatches).toEqual([]);
    // Keep-alive: the requests shared a few connections, one after another on each.
    expect(connections()).toBeLessThanOrEqual(8);
  });

  it('keeps the id through request bodies, thrown errors and streamed responses', async () => {
    const url = await listen(await build({ pool }));
    const kinds = ['body', 'throw', 'stream'] as const;
    const answers = await Promise.all(
      Array.from({ length: CONCURRENT }, async (_, i) => {
        const kind = kinds[i % kinds.length] as (typeof kinds)[number];
        const id = `${kind}-${i}`;
        const answer =
          kind === 'body'
            ? await request(`${url}/body`, {
                method: 'POST',
                headers: { 'x-id': id, 'content-type': 'application/json' },
                body: inParts(JSON.stringify({ n: i })),
              })
            : await request(`${url}/${kind}`, { headers: { 'x-id': id } });
        return { kind, id, i, answer };
      }),
    );
    for (const { kind, id, i, answer } of answers) {
      if (kind === 'body') {
        expect([answer.status, JSON.parse(answer.body)]).toEqual([200, { id, n: i }]);
      } else if (kind === 'throw') {
        expect([answer.status, JSON.parse(answer.body)]).toEqual([500, { id, message: 'boom' }]);
      } else {
        expect([answer.status, answer.body]).toEqual([200, `${id}\n`.repeat(5)]);
      }
    }
  });

  it('starts every request from the context where the scope was made, never from another request', async () => {
    const { tenant } = await import('./apps.js');
    const { Context } = await import('../../../dist/index.js');
    const startup = new Context();
    const server = await startup.run(() => {
      tenant.set('acme');
      return build({ pool });
    });
    const url = await listen(server);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => request(`${url}/id`, { headers: { 'x-id': `t-${i}` } })),
    );
    for (const answer of answers) expect(JSON.parse(answer.body)).toMatchObject({ tenant: 'acme' });
    // What requests set never reached the startup context.
    expect(startup.get(tenant)).toBe('acme');
    expect(startup.has((await import('./apps.js')).requestId)).toBe(false);
  });
});

it('no request of any framework set a var in the root context (no CONTEXTVARS_ROOT_SET)', () => {
  expect(rootSets).toEqual([]);
});
