// The worker module of the carried-entries benchmark, for both pools: the
// OpenTelemetry SDK set up as a service's worker would, a carried store, and
// a task that starts and ends one span.
import { AsyncLocalStorage } from 'node:async_hooks';
import { carry } from '../../dist/index.js';
import { carryOpenTelemetry } from '../../dist/integrations/otel/index.js';
import { startTracing } from '../../examples/shared/tracing.mjs';

const tracer = startTracing('worker', () => undefined);
export const store = new AsyncLocalStorage();
carry(store, { name: 'bench.request' });
carryOpenTelemetry();

export default function traced(task) {
  tracer.startSpan('task').end();
  return task;
}
