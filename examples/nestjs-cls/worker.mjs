// The worker thread: a Nest application context whose providers read the
// request's store through an injected ClsService, as they would in a request.
import 'reflect-metadata';
import { setImmediate } from 'node:timers/promises';
import { parentPort } from 'node:worker_threads';
import { Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { expose } from 'contextvars/comlink';
import { ClsModule, ClsService } from 'nestjs-cls';
import { carryCls } from './carry.mjs';

carryCls();

class RequestReport {
  constructor(cls) {
    this.cls = cls;
  }

  async describe() {
    await setImmediate(); // the store survives awaits, as in a request
    return {
      id: this.cls.getId(),
      user: this.cls.get('user'),
      tenantId: this.cls.get('tenant.id'),
      storeKeys: Reflect.ownKeys(this.cls.get()).map(String),
    };
  }
}
// Nest's decorators called as functions, so this file runs on plain Node; a
// TypeScript app writes @Injectable() and @Inject(ClsService) in their place.
Injectable()(RequestReport);
Inject(ClsService)(RequestReport, undefined, 0);

class WorkerModule {}
Module({ imports: [ClsModule.forRoot()], providers: [RequestReport] })(WorkerModule);

const app = await NestFactory.createApplicationContext(WorkerModule, { logger: false });
const report = app.get(RequestReport);
expose({ describeRequest: () => report.describe() }, parentPort);
