// Type-level tests of carry's first argument: an AsyncLocalStorage, or a
// framework's public accessor with the same getStore and run. Checked by
// `npm run typecheck`.
import { AsyncLocalStorage } from 'node:async_hooks';
import { asyncLocalStorage } from '@fastify/request-context';
import { ClsServiceManager, type ClsStore } from 'nestjs-cls';
import { carry } from '../../src/index.js';

const requestStore = new AsyncLocalStorage<{ user: string }>();
carry(requestStore, {
  name: 'types.als',
  codec: { encode: (store) => store.user, decode: (raw) => ({ user: String(raw) }) },
});

carry(asyncLocalStorage, { name: 'types.fastify' });

interface AppStore extends ClsStore {
  user?: string;
}
const cls = ClsServiceManager.getClsService<AppStore>();
carry(
  { getStore: () => cls.get(), run: (store, fn) => cls.runWith(store, fn) },
  { name: 'types.cls', codec: { encode: (store) => store.user, decode: () => ({ user: 'ada' }) } },
);

// @ts-expect-error a store needs run as well as getStore
carry({ getStore: () => 1 }, { name: 'types.half' });
