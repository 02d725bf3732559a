// OpenTelemetry set up without a propagator: the trace cannot travel, and
// carryOpenTelemetry says so once instead of letting worker spans start new
// traces silently. (A file of its own: OpenTelemetry's globals are per process.)
import { once } from 'node:events';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { expect, it } from 'vitest';
import { carryOpenTelemetry, OPENTELEMETRY_ENTRY } from '../../src/integrations/otel/index.js';
import { serializeContext } from '../../src/serialization/index.js';

it('a span with no propagator registered: nothing travels, and one warning says why', async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider());
  const stop = carryOpenTelemetry();
  const warned = once(process, 'warning');
  const wires = trace.getTracer('t').startActiveSpan('request', (span) => {
    const sent = [serializeContext(), serializeContext()];
    span.end();
    return sent;
  });
  const [warning] = (await warned) as [Error & { code?: string }];
  expect(warning.code).toBe('CONTEXTVARS_OTEL_NO_PROPAGATOR');
  expect(warning.name).toBe('ContextVarsWarning');
  expect(warning.message).toMatch(/setGlobalPropagator/);
  expect(JSON.stringify(wires)).not.toContain(OPENTELEMETRY_ENTRY);
  stop();
});
