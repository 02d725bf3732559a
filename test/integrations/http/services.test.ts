// Context across services on loopback: a caller sends contextHeaders(), the
// receiving service's requestScope({ header, key }) seeds each request from it.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ContextVar, createTask } from '../../../dist/index.js';
import {
  contextHeaders,
  type RequestScopeOptions,
  requestScope,
} from '../../../dist/integrations/http/index.js';
import { deserializeContext, serializeContext } from '../../../dist/serialization/index.js';
import { codeOf, thrownBy } from '../../support/errors.js';
import { signedText } from '../../support/signed.js';
import { poolsFor } from '../../workers/support.js';
import { frameworks, tenant } from './apps.js';
import { keepAliveClient, listen } from './support.js';

const pool = poolsFor({ maxThreads: 2 })({
  filename: new URL('fixtures/worker.mjs', import.meta.url).href,
});
const request = keepAliveClient(8);
const run = promisify(execFile);
const key = randomBytes(32);
const previousKey = 'the key before the rotation';
const link = { header: 'x-context', key: [key, previousKey] } as const;

/** The header a caller whose context holds `tenant` sends. */
const headersFor = (value: string, options: Parameters<typeof contextHeaders>[0] = link) =>
  createTask(() => {
    tenant.set(value);
    return contextHeaders(options);
  });

const forgeries: Record<string, () => Promise<Record<string, string>>> = {
  'signed with another key': () => headersFor('evil', { header: 'x-context', key: 'not the key' }),
  unsigned: () =>
    createTask(() => {
      tenant.set('evil');
      return { 'x-context': serializeContext(undefined, { format: 'json' }) };
    }),
  tampered: async () => {
    const { 'x-context': text } = await headersFor('acme');
    return { 'x-context': (text as string).replace('acme', 'evil') };
  },
  'not a snapshot': async () => ({ 'x-context': 'tenant=evil' }),
};

describe.each(Object.entries(frameworks))('a context header arriving at %s', (_name, build) => {
  const serve = async (scope: RequestScopeOptions) => listen(await build({ pool, scope }));

  it('seeds each request, and the pool tasks it starts, with the caller’s context', async () => {
    const url = await serve(link);
    const answers = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const headers = { ...(await headersFor(`tenant-${i}`)), 'x-id': `r-${i}` };
        return JSON.parse((await request(`${url}/id`, { headers })).body);
      }),
    );
    answers.forEach((answer, i) => {
      expect(answer).toMatchObject({ tenant: `tenant-${i}`, workerTenant: `tenant-${i}` });
    });
  });

  it('accepts a header signed with an earlier key of the list (rotation)', async () => {
    const url = await serve(link);
    const headers = {
      ...(await headersFor('old', { header: 'x-context', key: previousKey })),
      'x-id': 'r',
    };
    expect(JSON.parse((await request(`${url}/id`, { headers })).body)).toMatchObject({
      tenant: 'old',
    });
  });

  it.each(Object.entries(forgeries))(
    'refuses a header %s with 400 (the default)',
    async (_kind, forge) => {
      const url = await serve(link);
      const answer = await request(`${url}/id`, { headers: { ...(await forge()), 'x-id': 'r' } });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatch(/x-context header was refused/);
      expect(answer.body).not.toMatch(/evil/);
    },
  );

  it.each(Object.entries(forgeries))(
    'with onInvalid: ignore, serves a header %s unseeded',
    async (_kind, forge) => {
      const url = await serve({ ...link, onInvalid: 'ignore' });
      const answer = await request(`${url}/id`, { headers: { ...(await forge()), 'x-id': 'r' } });
      expect([answer.status, JSON.parse(answer.body)]).toMatchObject([
        200,
        { tenant: 'no-tenant' },
      ]);
    },
  );

  it('serves a request without the header in a fresh, unseeded context', async () => {
    const url = await serve(link);
    const answer = await request(`${url}/id`, { headers: { 'x-id': 'r' } });
    expect([answer.status, JSON.parse(answer.body)]).toMatchObject([200, { tenant: 'no-tenant' }]);
  });
});

describe('across three services', () => {
  it('forwards names the middle service does not declare, and fills in the receiver’s startup context', async () => {
    const env = { ...process.env, CONTEXT_KEY: key.toString('hex') };
    const service = fileURLToPath(new URL('fixtures/service.mjs', import.meta.url));
    // A: another process whose context holds trace_note (undeclared here) and a tenant.
    const fromA = JSON.parse(
      (await run(process.execPath, [service, 'header'], { env })).stdout,
    ) as Record<string, string>;
    // C: another process that declares trace_note, with region and a tenant set at startup.
    const c = spawn(process.execPath, [service], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    afterAll(() => c.stdin.end());
    const [port] = (await once(c.stdout, 'data')) as [Buffer];
    // B: this process, which declares no trace_note: it only passes its context on.
    const scope = requestScope(link);
    const b = createServer((req, res) =>
      scope(req, res, async () => {
        const answer = await fetch(`http://127.0.0.1:${port.toString().trim()}/`, {
          headers: contextHeaders(link),
        });
        res.end(await answer.text());
      }),
    );
    const answer = await request(await listen(b), { headers: fromA });
    expect(JSON.parse(answer.body)).toEqual({
      note: 'from-a', // forwarded by B untouched
      region: 'eu', // C's startup context fills in what did not arrive
      tenant: 'acme', // what arrived wins over C's startup value
    });
  });
});

describe('options', () => {
  it('refuses options that cannot work when the scope is made, naming the option', () => {
    expect(codeOf(() => requestScope({ header: 'x-context' }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => requestScope({ key }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => requestScope({ header: 'bad header', key }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => requestScope({ ...link, onInvalid: 'drop' as never }))).toBe(
      'ERR_INVALID_ARG_VALUE',
    );
    expect(codeOf(() => requestScope({ ...link, maxAge: '1' as never }))).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    expect(codeOf(() => requestScope({ ...link, key: '' }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => requestScope.koa(42 as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => contextHeaders({ header: 'x-context' } as never))).toBe(
      'ERR_INVALID_ARG_VALUE',
    );
    expect(codeOf(() => contextHeaders({ header: 'x context', key }))).toBe(
      'ERR_INVALID_ARG_VALUE',
    );
  });

  it('sends propagating vars only, refuses at the caller what cannot travel, and reads the header name in any case', async () => {
    const secret = new ContextVar('session_secret', { propagate: false });
    const handler = new ContextVar<unknown>('handler');
    const { 'x-context': text } = await createTask(() => {
      tenant.set('acme');
      secret.set('s3cr3t');
      return contextHeaders({ header: 'X-Context', key });
    });
    expect(text).toContain('acme');
    expect(text).not.toContain('s3cr3t');
    const error = await createTask(() => {
      handler.set(() => 'not data');
      return thrownBy(() => contextHeaders(link));
    });
    expect(error).toMatchObject({ code: 'ERR_CONTEXT_SERIALIZE', varName: 'handler' });
  });

  it('refuses a header over maxBytes', async () => {
    const url = await listen(await frameworks.koa({ pool, scope: { ...link, maxBytes: 256 } }));
    const big = await headersFor('x'.repeat(300));
    const answer = await request(`${url}/id`, { headers: { ...big, 'x-id': 'r' } });
    expect([answer.status, answer.body]).toEqual([400, expect.stringMatching(/maxBytes/)]);
  });

  it('refuses a stale header with maxAge', async () => {
    const url = await listen(
      await frameworks.express({ pool, scope: { ...link, maxAge: 60_000 } }),
    );
    const now = Date.now();
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now - 120_000);
    const stale = await headersFor('old');
    clock.mockRestore();
    const answer = await request(`${url}/id`, { headers: { ...stale, 'x-id': 'r' } });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatch(/older than maxAge/);
  });
});

describe('a header signature bound to its use', () => {
  /** A plain node:http service whose requestScope reads `scope`, answering the tenant it sees. */
  const service = (scope: RequestScopeOptions) => {
    const open = requestScope(scope);
    return listen(
      createServer((req, res) =>
        open(req, res, (error?: unknown) => {
          res.statusCode = error === undefined ? 200 : 400;
          res.end(error === undefined ? tenant.get() : String((error as Error).message));
        }),
      ),
    );
  };
  const minutes = (n: number) => n * 60_000;
  /** A header signed by hand at `t`, for a time or version today's writer would not give. */
  const crafted = (fields: { v?: number; t: number; u?: string }) => ({
    'x-context': signedText(key, {
      v: fields.v ?? 2,
      t: fields.t,
      ...(fields.u !== undefined && { u: fields.u }),
      e: ['tenant', 0, 'crafted'],
    }),
  });

  it('contextHeaders signs for http:<header name in lower case>, narrowed by use', async () => {
    const { 'x-context': plain } = await headersFor('acme', { header: 'X-Context', key });
    expect(JSON.parse(plain as string).u).toBe('http:x-context');
    const { 'x-context': narrowed } = await headersFor('acme', { ...link, use: 'reports' });
    expect(JSON.parse(narrowed as string).u).toBe('http:x-context:reports');
  });

  it('a header made for one header name is refused under another (header to header replay)', async () => {
    const url = await service({ header: 'x-other-context', key });
    const { 'x-context': text } = await headersFor('admin');
    const answer = await request(url, { headers: { 'x-other-context': text as string } });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatch(/signed for another use.*"http:x-other-context"/);
  });

  it('a header narrowed by use is accepted only where requestScope names the same use', async () => {
    const reports = await service({ ...link, use: 'reports' });
    const billing = await service({ ...link, use: 'billing' });
    const headers = await headersFor('acme', { ...link, use: 'reports' });
    expect((await request(reports, { headers })).body).toBe('acme');
    expect((await request(billing, { headers })).status).toBe(400);
    expect((await request(await service(link), { headers })).status).toBe(400);
  });

  it('requestScope refuses a header older than 5 minutes by default (header replay after maxAge)', async () => {
    const url = await service(link);
    const fresh = crafted({ t: Date.now() - minutes(4), u: 'http:x-context' });
    expect((await request(url, { headers: fresh })).body).toBe('crafted');
    const stale = crafted({ t: Date.now() - minutes(6), u: 'http:x-context' });
    const answer = await request(url, { headers: stale });
    expect([answer.status, answer.body]).toEqual([
      400,
      expect.stringMatching(/older than maxAge \(300000 ms\)/),
    ]);
  });

  it('requestScope refuses a header stamped more than maxAge in the future', async () => {
    const url = await service(link);
    const ahead = crafted({ t: Date.now() + minutes(6), u: 'http:x-context' });
    const answer = await request(url, { headers: ahead });
    expect([answer.status, answer.body]).toEqual([400, expect.stringMatching(/in the future/)]);
  });

  it('maxAge: Infinity turns the default off, in requestScope only', async () => {
    const url = await service({ ...link, maxAge: Number.POSITIVE_INFINITY });
    const old = crafted({ t: Date.now() - minutes(60 * 24), u: 'http:x-context' });
    expect((await request(url, { headers: old })).body).toBe('crafted');
    expect(codeOf(() => deserializeContext('', { key, maxAge: Number.POSITIVE_INFINITY }))).toBe(
      'ERR_OUT_OF_RANGE',
    );
  });

  it('a signed version-1 header (no use) is refused, and accepted with acceptUnbound', async () => {
    const v1 = crafted({ v: 1, t: Date.now() });
    const strict = await service(link);
    const answer = await request(strict, { headers: v1 });
    expect([answer.status, answer.body]).toEqual([
      400,
      expect.stringMatching(/format version 1.*acceptUnbound/),
    ]);
    const upgrading = await service({ ...link, acceptUnbound: true });
    expect((await request(upgrading, { headers: v1 })).body).toBe('crafted');
  });

  it('refuses bad use and acceptUnbound options, naming them', () => {
    for (const use of ['', 'x'.repeat(200), 7]) {
      const error = thrownBy(() => requestScope({ ...link, use: use as string }));
      expect(error).toMatchObject({ message: expect.stringMatching(/options\.use/) });
      expect(() => contextHeaders({ ...link, use: use as string })).toThrow(/options\.use/);
    }
    expect(codeOf(() => requestScope({ use: 'x' }))).toBe('ERR_INVALID_ARG_VALUE');
    // The header's name is part of the use: at most 123 characters.
    expect(() => requestScope({ header: `x-${'h'.repeat(200)}`, key })).toThrow(/options\.header/);
    expect(() => contextHeaders({ header: `x-${'h'.repeat(200)}`, key })).toThrow(
      /options\.header/,
    );
    expect(codeOf(() => requestScope({ ...link, acceptUnbound: 'yes' as never }))).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
  });
});

describe('propagate: false across services', () => {
  it('contextHeaders never sends a name this service declares propagate: false, also when it arrived in a header', async () => {
    // Service A declares session_token propagating; this service declares it propagate: false.
    const arriving = {
      'x-context': signedText(key, {
        v: 2,
        t: Date.now(),
        u: 'http:x-context',
        e: ['tenant', 0, 'acme', 'services_session_token', 0, 'hunter2'],
      }),
    };
    const open = requestScope(link);
    const url = await listen(
      createServer((req, res) => open(req, res, () => res.end(contextHeaders(link)['x-context']))),
    );
    const local = new ContextVar<string>('services_session_token', { propagate: false });
    const forwarded = (await request(url, { headers: arriving })).body;
    expect(forwarded).toContain('acme');
    expect(forwarded).not.toContain('hunter2');
    expect(forwarded).not.toContain(local.name);
  });
});
