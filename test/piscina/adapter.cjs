'use strict';
// piscina's own tests, run against ContextPool: `new Piscina(options)` builds a
// ContextPool. CONTEXTVARS_PISCINA_MODE says what the tests' `pool.run(task)`
// becomes: 'runInContext' (the task carries the caller's context) or 'run'.
// Module-level exports that are not pools (FixedQueue, version...) are piscina's.
const piscina = require('piscina');
const { ContextPool } = require('../../dist/workers/index.js');

const mode = process.env.CONTEXTVARS_PISCINA_MODE ?? 'runInContext';
if (mode !== 'runInContext' && mode !== 'run') {
  throw new Error(`CONTEXTVARS_PISCINA_MODE must be 'runInContext' or 'run', not ${mode}`);
}

class Piscina extends ContextPool {
  run(task, options) {
    return mode === 'run' ? super.run(task, options) : this.runInContext(task, options);
  }
}

// piscina's module face: its statics as own properties, in piscina's order.
// ContextPool's own statics (isWorkerThread, workerData, move, the symbols)
// are read from ContextPool; the rest are module exports that build no pool.
const statics = {
  isWorkerThread: () => ContextPool.isWorkerThread,
  workerData: () => ContextPool.workerData,
  version: () => piscina.version,
  Piscina: () => Piscina,
  FixedQueue: () => piscina.FixedQueue,
  ArrayTaskQueue: () => piscina.ArrayTaskQueue,
  move: () => ContextPool.move,
  transferableSymbol: () => ContextPool.transferableSymbol,
  valueSymbol: () => ContextPool.valueSymbol,
  queueOptionsSymbol: () => ContextPool.queueOptionsSymbol,
};
for (const [name, get] of Object.entries(statics)) {
  Object.defineProperty(Piscina, name, { get, configurable: true, enumerable: false });
}

module.exports = Piscina;
