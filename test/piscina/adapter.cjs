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

  static get Piscina() {
    return Piscina;
  }
  static get version() {
    return piscina.version;
  }
  static get FixedQueue() {
    return piscina.FixedQueue;
  }
  static get ArrayTaskQueue() {
    return piscina.ArrayTaskQueue;
  }
}

module.exports = Piscina;
