// The recipe: nestjs-cls's store travels with every call to a worker
// (contextvars/comlink, the pool) and with serializeContext. Import it in the
// application and in the worker module, so both register the same name.
import { carry } from 'contextvars';
import { CLS_ID, ClsServiceManager } from 'nestjs-cls';

/**
 * Carries the CLS store under one name on both sides, through ClsService's
 * public API: `get()` is the whole store, `runWith(store, fn)` runs inside one.
 * What travels: the id and the application's values, which sit under string
 * keys. nestjs-cls keeps its own entries under symbols (the request, the
 * response, the execution context, proxy provider instances): they stay
 * behind. On arrival the store is a fresh object with the values and the id,
 * so `cls.get('user')`, `cls.get('tenant.id')` and `cls.getId()` answer in the
 * worker as in the request. Returns a function that unregisters it.
 */
export function carryCls() {
  const cls = ClsServiceManager.getClsService();
  return carry(
    { getStore: () => cls.get(), run: (store, fn) => cls.runWith(store, fn) },
    { name: 'nestjs-cls', codec: { encode, decode } },
  );
}

function encode(store) {
  const values = {};
  // Own string keys only: a value that cannot travel (a logger, a client) is
  // refused, naming its key; leave it out here and rebuild it in decode.
  for (const key of Object.keys(store)) values[key] = store[key];
  return { id: store[CLS_ID], values };
}

function decode(sent) {
  const values = sent?.values;
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new TypeError('expected { id, values }');
  }
  return sent.id === undefined ? { ...values } : { ...values, [CLS_ID]: sent.id };
}
