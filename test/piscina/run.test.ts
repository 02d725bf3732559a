// piscina's own suite, with the tests' `pool.run` going to ContextPool's `run`.
import { declarePiscinaSuite } from './suite.js';

await declarePiscinaSuite('run');
