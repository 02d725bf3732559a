// BullMQ on PostgreSQL: the contextTelemetry the Redis guide uses, given to
// BullMQ 6's PostgreSQL backend. Every job runs in the context that added it.
import { createPostgresBackend, Queue, Worker } from 'bullmq';
import { contextTelemetry } from 'contextvars/bullmq';

export function reportQueue({ connection, key }) {
  const telemetry = contextTelemetry({ key });
  // migrate: true creates BullMQ's tables on first use (or run runMigrations once).
  const options = { connection: { ...connection, migrate: true }, telemetry };
  return {
    queue: new Queue('reports', options, createPostgresBackend),
    worker: (render) => new Worker('reports', render, options, createPostgresBackend),
  };
}
