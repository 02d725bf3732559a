/**
 * OpenTelemetry's active context travels with every snapshot made for
 * sending: `carryOpenTelemetry()` in the main thread and in the worker (or
 * the comlink peer, or the queue's processor) and a span started by a task is
 * a child of the caller's active span, its baggage readable there.
 */
import {
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  type Context as OtelContext,
  propagation,
  ROOT_CONTEXT,
  type TextMapPropagator,
  trace,
} from '@opentelemetry/api';
import { ContextSerializationError } from '../../context/index.js';
import {
  describe,
  invalidArgType,
  type PendingEntry,
  registerCarried,
} from '../../context/internal.js';

/** The name OpenTelemetry's context travels under in a snapshot. */
export const OPENTELEMETRY_ENTRY = 'contextvars.otel';

/** Options of `carryOpenTelemetry(options)`. */
export interface CarryOpenTelemetryOptions {
  /**
   * Writes the active context into headers and reads it back (W3C
   * `traceparent`, `tracestate`, `baggage`). Default: the propagator
   * registered with `propagation.setGlobalPropagator` (a NodeSDK registers
   * trace context and baggage).
   */
  propagator?: TextMapPropagator;
}

type Headers = Record<string, string>;

/**
 * Carries OpenTelemetry's active context (its span context and baggage) with
 * every snapshot made for sending: pool tasks, comlink calls, queued jobs,
 * `serializeContext`. In the receiver the task runs inside
 * `context.with(extracted)`, so a span it starts is a child of the caller's
 * active span. Call it on both sides. With nothing active, nothing travels
 * and the only cost is one check. Returns a function that stops carrying.
 *
 * What the receiving code already carries wins: the arrived context applies
 * only where no span is active when the context is entered. A span the
 * receiver's own instrumentation opened (HTTP auto-instrumentation's server
 * span around `requestScope({ header })`, bullmq-otel's process span around
 * a job) stays the parent: its own propagation already carried the trace.
 * Vars and stores arrive as usual.
 *
 * Only what a propagator carries travels: span context, trace state and
 * baggage. Other keys set on an OpenTelemetry Context stay behind.
 *
 * @example
 * import { carryOpenTelemetry } from 'contextvars/otel';
 * carryOpenTelemetry(); // in the main thread, and in the worker module after the SDK is set up
 */
export function carryOpenTelemetry(options: CarryOpenTelemetryOptions = {}): () => void {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgType('options', 'an object', options);
  }
  const { propagator = propagation } = options;
  if (
    typeof propagator !== 'object' ||
    propagator === null ||
    typeof propagator.inject !== 'function' ||
    typeof propagator.extract !== 'function'
  ) {
    throw invalidArgType('options.propagator', 'a TextMapPropagator', propagator);
  }
  // OpenTelemetry contexts are immutable: one context's headers never change.
  // Frozen, they are also encoded once (serialization caches deep-frozen data).
  const injected = new WeakMap<object, Readonly<Headers> | null>();
  return registerCarried<OtelContext | undefined>({
    name: OPENTELEMETRY_ENTRY,
    capture(): PendingEntry | undefined {
      const active = context.active();
      let headers = injected.get(active);
      if (headers === undefined) {
        headers = headersOf(active, propagator);
        injected.set(active, headers);
      }
      return headers === null ? undefined : { value: headers, coded: false };
    },
    arrive: extractor(propagator),
    restore<R>(extracted: OtelContext | undefined, fn: () => R): R {
      // What the receiving code already carries wins: a span active here (an
      // HTTP server span, a queue's process span) stays the parent.
      if (extracted === undefined || trace.getSpan(context.active()) !== undefined) return fn();
      return context.with(extracted, () => {
        if (context.active() !== extracted) warnNoContextManager();
        return fn();
      });
    },
    flush: flushTracerProvider,
  });
}

/**
 * The arrival of an OpenTelemetry entry: the propagator's context for the
 * arrived headers, undefined for nothing to restore. A propagator that throws
 * or returns something that is no OpenTelemetry context refuses the arrival.
 */
function extractor(
  propagator: TextMapPropagator,
): (arrived: PendingEntry) => OtelContext | undefined {
  // Tasks sent from one request arrive one after another with the same headers.
  let lastArrived: Readonly<Headers> | undefined;
  let lastExtracted: OtelContext | undefined;
  return (arrived) => {
    // Arrived data: only string headers are read; anything else restores nothing.
    if (!isHeaders(arrived.value)) return undefined;
    if (lastArrived !== undefined && sameHeaders(lastArrived, arrived.value)) return lastExtracted;
    let extracted: unknown;
    try {
      extracted = propagator.extract(ROOT_CONTEXT, arrived.value, defaultTextMapGetter);
    } catch (cause) {
      throw refused('its propagator threw while extracting it', { cause });
    }
    // A propagator that found nothing to extract: nothing to restore.
    if (extracted === null || extracted === undefined) return undefined;
    if (typeof (extracted as Partial<OtelContext>).getValue !== 'function') {
      throw refused(`its propagator returned ${describe(extracted)}, not an OpenTelemetry Context`);
    }
    lastArrived = arrived.value;
    lastExtracted = extracted as OtelContext;
    return lastExtracted;
  };
}

function refused(reason: string, details: { cause?: unknown } = {}): ContextSerializationError {
  return new ContextSerializationError(
    'ERR_CONTEXT_DESERIALIZE',
    `Cannot deserialize the context: the OpenTelemetry context that arrived (carried entry ` +
      `'${OPENTELEMETRY_ENTRY}') was refused: ${reason}`,
    { varName: OPENTELEMETRY_ENTRY, ...details },
  );
}

/** The propagator's headers for `active`, frozen; null when nothing is active. */
function headersOf(active: OtelContext, propagator: TextMapPropagator): Readonly<Headers> | null {
  if (trace.getSpanContext(active) === undefined && propagation.getBaggage(active) === undefined) {
    return null;
  }
  const headers: Headers = {};
  propagator.inject(active, headers, defaultTextMapSetter);
  if (Object.keys(headers).length > 0) return Object.freeze(headers);
  warnOnce(
    'CONTEXTVARS_OTEL_NO_PROPAGATOR',
    'A span is active, but the OpenTelemetry propagator wrote nothing, so the trace does not ' +
      'travel with tasks: register one (propagation.setGlobalPropagator(new ' +
      'CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new ' +
      'W3CBaggagePropagator()] })), as a NodeSDK does) or give carryOpenTelemetry({ propagator }).',
  );
  return null;
}

function sameHeaders(a: Readonly<Headers>, b: Readonly<Headers>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}

function isHeaders(value: unknown): value is Headers {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const key of Object.keys(value)) {
    if (typeof (value as Record<string, unknown>)[key] !== 'string') return false;
  }
  return true;
}

const warned = new Set<string>();

/** A process warning, once per thread for each code. */
function warnOnce(code: string, message: string): void {
  if (warned.has(code)) return;
  warned.add(code);
  process.emitWarning(message, { type: 'ContextVarsWarning', code });
}

/** `context.with` did nothing: spans started here would have no parent. */
function warnNoContextManager(): void {
  warnOnce(
    'CONTEXTVARS_OTEL_NO_CONTEXT_MANAGER',
    'An OpenTelemetry context arrived with a task, but no OpenTelemetry context manager is ' +
      'registered in this thread, so spans started here have no parent. Register one before ' +
      'tasks run (a NodeSDK does; or context.setGlobalContextManager(new ' +
      'AsyncLocalStorageContextManager().enable())).',
  );
}

/** Exports the spans the thread's tracer provider still holds (a batch processor's buffer). */
async function flushTracerProvider(): Promise<void> {
  const global = trace.getTracerProvider() as { getDelegate?: () => unknown };
  const provider = (global.getDelegate?.() ?? global) as { forceFlush?: () => Promise<void> };
  await provider.forceFlush?.();
}
