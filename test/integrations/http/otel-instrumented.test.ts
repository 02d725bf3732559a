// Two services behind HTTP auto-instrumentation, the way most services run
// OpenTelemetry (one process: its `http` module, instrumented, serves both).
// What the receiving code already carries wins: B's server span stays the
// parent of B's handler, and the context header still brings A's vars.
import { createRequire } from 'node:module';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { afterAll, expect, it } from 'vitest';
import { carryOpenTelemetry } from '../../../dist/integrations/otel/index.js';
import { setUpTracing } from '../../support/otel.js';
import { lineage, twoServices } from './two-services.js';

const { ended, tracer } = setUpTracing();
const instrumentation = new HttpInstrumentation();
afterAll(() => instrumentation.disable());
afterAll(carryOpenTelemetry());
// Required after the instrumentation is enabled, so it is the patched module.
const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');

it('with HttpInstrumentation on both sides, every request is one trace: A server > a-work > A client > B server > b-handler, and B sees A’s vars', async () => {
  const call = await twoServices(http, tracer);
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call(i)));
  const spans = await ended.atLeast(20 * 5);
  answers.forEach((answer, i) => {
    expect(answer.tenant).toBe(`tenant-${i}`);
    expect(lineage(spans, answer.spanId)).toEqual([
      'b-handler',
      'SERVER',
      'CLIENT',
      'a-work',
      'SERVER',
    ]);
    expect(spans.filter((span) => span.spanContext().traceId === answer.traceId)).toHaveLength(5);
  });
});
