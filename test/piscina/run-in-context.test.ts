// piscina's own suite, with the tests' `pool.run` going to ContextPool's `runInContext`.
import { declarePiscinaSuite } from './suite.js';

await declarePiscinaSuite('runInContext');
