/**
 * `contextvars/bullmq`: BullMQ jobs run in the context that added them. The
 * snapshot rides in BullMQ's telemetry metadata slot, beside the job's data.
 */
export {
  contextOf,
  inJobContext,
  type JobContextReadOptions,
  type JobWithContext,
} from './context-of.js';
export type { JobContextOptions } from './job-context.js';
export {
  type ContextTelemetry,
  type ContextTelemetryOptions,
  contextTelemetry,
  type JobTelemetryContext,
} from './telemetry.js';
export { type SandboxedProcessor, withContext } from './with-context.js';
