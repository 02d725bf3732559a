// Two services on loopback, A calling B with the context header, both
// tracing: A's route runs `a-work`, which sets a tenant and calls B with an
// `http` client; B's handler runs `b-handler` and answers with the tenant it
// sees. The `http` module is given, so a test can pass an instrumented one.
import { randomBytes } from 'node:crypto';
import type * as Http from 'node:http';
import type { Tracer } from '@opentelemetry/api';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import { ContextVar } from '../../../dist/index.js';
import { contextHeaders, requestScope } from '../../../dist/integrations/http/index.js';
import { listen } from './support.js';

const tenant = new ContextVar('tenant', { default: 'no-tenant' });
const link = { header: 'x-context', key: randomBytes(32) } as const;

/** What B answers: the tenant its handler sees, and its handler span. */
export interface Answer {
  tenant: string;
  traceId: string;
  spanId: string;
}

/** GETs `url` with `headers` through `http`; resolves with the parsed JSON body. */
function getJson(http: typeof Http, url: string, headers: Http.OutgoingHttpHeaders) {
  return new Promise<unknown>((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(JSON.parse(body)));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Starts B, then A; resolves with a function that makes request `i` to A (with fetch). */
export async function twoServices(
  http: typeof Http,
  tracer: Tracer,
): Promise<(i: number) => Promise<Answer>> {
  const b = express();
  b.use(requestScope(link));
  b.get('/b', (_req, res) => {
    tracer.startActiveSpan('b-handler', (span) => {
      span.end();
      res.json({ tenant: tenant.get(), ...span.spanContext() });
    });
  });
  const bUrl = await listen(http.createServer(b));

  const a = express();
  a.use(requestScope());
  a.get('/a', (req, res) => {
    void tracer.startActiveSpan('a-work', async (span) => {
      tenant.set(`tenant-${String(req.query.i)}`);
      const answer = await getJson(http, `${bUrl}/b`, contextHeaders(link));
      span.end();
      res.json(answer);
    });
  });
  const aUrl = await listen(http.createServer(a));
  return async (i) => (await (await fetch(`${aUrl}/a?i=${i}`)).json()) as Answer;
}

/**
 * The spans from `spanId` up to its trace's root: each as its name, or as its
 * kind for the spans HTTP instrumentation makes (SERVER, CLIENT).
 */
export function lineage(spans: readonly ReadableSpan[], spanId: string): string[] {
  const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]));
  const path: string[] = [];
  for (let span = byId.get(spanId); span !== undefined; ) {
    path.push(span.kind === SpanKind.INTERNAL ? span.name : SpanKind[span.kind]);
    const parent = span.parentSpanContext?.spanId;
    span = parent === undefined ? undefined : byId.get(parent);
    if (parent !== undefined && span === undefined) path.push(`missing parent ${parent}`);
  }
  return path;
}
