// Two services whose HTTP is not instrumented: the context header alone links
// the traces (the arrived OpenTelemetry context applies where no span is
// active). With instrumentation: otel-instrumented.test.ts.
import * as http from 'node:http';
import { afterAll, expect, it } from 'vitest';
import { carryOpenTelemetry } from '../../../dist/integrations/otel/index.js';
import { setUpTracing } from '../../support/otel.js';
import { lineage, twoServices } from './two-services.js';

const { ended, tracer } = setUpTracing();
afterAll(carryOpenTelemetry());

it("without HTTP instrumentation, the header links the traces: B's handler span is a child of A's span, and B sees A's vars", async () => {
  const call = await twoServices(http, tracer);
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call(i)));
  const spans = await ended.atLeast(20 * 2);
  answers.forEach((answer, i) => {
    expect(answer.tenant).toBe(`tenant-${i}`);
    expect(lineage(spans, answer.spanId)).toEqual(['b-handler', 'a-work']);
  });
});
