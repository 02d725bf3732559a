// Type-level tests of contextvars/http against the real frameworks' types.
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { expectTypeOf } from 'vitest';
import {
  contextHeaders,
  type RequestScopeOptions,
  requestScope,
} from '../../src/integrations/http/index.js';

const key = 'secret';
const options: RequestScopeOptions = { header: 'x-context', key, onInvalid: 'ignore' };

const app = express();
app.use(requestScope());
app.use(requestScope(options));

const koa = new Koa();
koa.use(requestScope.koa());
koa.use(requestScope.koa(options));

const fastify = Fastify();
void fastify.register(requestScope.fastify);
void fastify.register(requestScope.fastify, options);

expectTypeOf(contextHeaders({ header: 'x-context', key })).toEqualTypeOf<Record<string, string>>();
// @ts-expect-error onInvalid is 'refuse' or 'ignore'
requestScope({ header: 'x-context', key, onInvalid: 'drop' });
// @ts-expect-error contextHeaders needs a key
contextHeaders({ header: 'x-context' });

// A narrower use on both sides; maxAge: Infinity turns requestScope's default off.
app.use(
  requestScope({ header: 'x-context', key, use: 'reports', maxAge: Number.POSITIVE_INFINITY }),
);
app.use(requestScope({ header: 'x-context', key: [key, 'old'], acceptUnbound: true }));
contextHeaders({ header: 'x-context', key, use: 'reports' });
// @ts-expect-error use is a string
contextHeaders({ header: 'x-context', key, use: 5 });
// @ts-expect-error acceptUnbound is a boolean
requestScope({ header: 'x-context', key, acceptUnbound: 'yes' });
