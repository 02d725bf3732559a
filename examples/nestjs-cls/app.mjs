// A Nest application on the Fastify adapter with nestjs-cls: its middleware
// gives every request a store holding an id and the request, and a setup
// hook adds the user and tenant. A route hands work to a worker thread
// through contextvars/comlink; another returns a snapshot (what a queue job
// or an outgoing call would carry).
import 'reflect-metadata';
import { Worker } from 'node:worker_threads';
import { Controller, Get, Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { wrap } from 'contextvars/comlink';
import { serializeContext } from 'contextvars/serialization';
import { ClsModule, ClsService } from 'nestjs-cls';
import { carryCls } from './carry.mjs';

carryCls();

/** Owns the worker thread; Nest terminates it when the application closes. */
class ReportWorker {
  worker = new Worker(new URL('./worker.mjs', import.meta.url));
  api = wrap(this.worker);

  onApplicationShutdown() {
    return this.worker.terminate();
  }
}

class WorkController {
  constructor(cls, reports) {
    this.cls = cls;
    this.reports = reports;
  }

  async work() {
    return { id: this.cls.getId(), inWorker: await this.reports.api.describeRequest() };
  }

  snapshot() {
    return { snapshot: serializeContext(undefined, { format: 'json' }) };
  }
}

// Nest's decorators called as functions, so this file runs on plain Node; a
// TypeScript app writes @Injectable(), @Controller(), @Inject(...) and
// @Get(...) in their place.
Injectable()(ReportWorker);
Controller()(WorkController);
Inject(ClsService)(WorkController, undefined, 0);
Inject(ReportWorker)(WorkController, undefined, 1);
for (const route of ['work', 'snapshot']) {
  const method = Object.getOwnPropertyDescriptor(WorkController.prototype, route);
  Get(route)(WorkController.prototype, route, method);
}

class AppModule {}
Module({
  imports: [
    ClsModule.forRoot({
      global: true,
      middleware: {
        mount: true,
        generateId: true,
        setup(cls, request) {
          cls.set('user', request.headers['x-user'] ?? 'anonymous');
          cls.set('tenant', { id: request.headers['x-tenant'] ?? 'public' });
        },
      },
    }),
  ],
  controllers: [WorkController],
  providers: [ReportWorker],
})(AppModule);

/** Starts the application on a loopback port; resolves to its URL and a `close()`. */
export async function startApp() {
  const app = await NestFactory.create(AppModule, new FastifyAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  return { url: await app.getUrl(), close: () => app.close() };
}
