// The metadata format alone (no Redis): a snapshot beside another telemetry's
// metadata, taken apart again, and never a throw on what a queue hands back.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { joinMetadata, splitMetadata } from '../../dist/integrations/bullmq/metadata.js';

const snapshot = '{"v":1,"f":"j","e":["request_id",0,"r-1"]}';
const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** What a plain bullmq-otel reader does with metadata: JSON.parse, then read its keys. */
const otelReads = (metadata: string) => JSON.parse(metadata) as Record<string, unknown>;

describe('job metadata', () => {
  it('is the snapshot alone, or the inner metadata alone, when there is only one', () => {
    expect(joinMetadata(snapshot, undefined)).toBe(snapshot);
    expect(joinMetadata(snapshot, '')).toBe(snapshot);
    expect(joinMetadata(undefined, '{"traceparent":"x"}')).toBe('{"traceparent":"x"}');
    expect(joinMetadata(undefined, undefined)).toBe('');
    expect(splitMetadata(snapshot)).toEqual({ snapshot, inner: undefined });
    expect(splitMetadata('{"traceparent":"x"}')).toEqual({
      snapshot: undefined,
      inner: '{"traceparent":"x"}',
    });
  });

  it("puts the snapshot beside bullmq-otel's keys, where a plain bullmq-otel reader still finds them", () => {
    const inner = JSON.stringify({ traceparent, tracestate: 'a=1' });
    const joined = joinMetadata(snapshot, inner);
    expect(otelReads(joined)).toEqual({ contextvars: snapshot, traceparent, tracestate: 'a=1' });
    expect(splitMetadata(joined)).toEqual({ snapshot, inner: joined });
    expect(splitMetadata(joinMetadata(snapshot, '{}'))).toEqual({
      snapshot,
      inner: `{"contextvars":${JSON.stringify(snapshot)}}`,
    });
  });

  it.each([
    'not json',
    '[1,2]',
    '"a string"',
    '{"contextvars":"someone else\'s"}',
    '{"inner":"x"}',
    '{"inner":"x","traceparent":"y"}',
  ])('keeps inner metadata %s whole when merging could be misread', (inner) => {
    expect(splitMetadata(joinMetadata(snapshot, inner))).toEqual({ snapshot, inner });
  });

  it('hands back what another telemetry stored, and never throws on anything', () => {
    for (const stored of [undefined, null, 5, {}, '', 'garbage', '{"v":', '{"contextvars":5}']) {
      expect(() => splitMetadata(stored)).not.toThrow();
    }
    expect(splitMetadata('garbage')).toEqual({ snapshot: undefined, inner: 'garbage' });
    expect(splitMetadata('{"contextvars":5}')).toEqual({
      snapshot: 5,
      inner: '{"contextvars":5}',
    });
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.anything()), (stored) => {
        splitMetadata(stored);
      }),
    );
  });

  it('round-trips any snapshot beside any inner metadata', () => {
    fc.assert(
      fc.property(fc.json(), fc.oneof(fc.json(), fc.string()), (body, inner) => {
        const text = `{"v":1,${JSON.stringify(body)}}`;
        const split = splitMetadata(joinMetadata(text, inner));
        expect(split.snapshot).toBe(text);
        if (inner === '') return;
        const readsAsBefore =
          split.inner === inner ||
          JSON.stringify({ ...otelReads(split.inner ?? ''), contextvars: undefined }) ===
            JSON.stringify({ ...otelReads(inner), contextvars: undefined });
        expect(readsAsBefore).toBe(true);
      }),
    );
  });
});
