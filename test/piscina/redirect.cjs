'use strict';
// Preloaded (--require) into the process running piscina's tests and into
// every worker it starts: where a test or fixture file of the installed
// piscina package loads piscina itself (`require('..')`, `import '../dist'`,
// `import('piscina')`), it gets the adapter instead. piscina's internal
// modules (`../dist/symbols`...) and every other importer are left alone.
const Module = require('node:module');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const piscinaRoot = path.resolve(path.dirname(require.resolve('piscina')), '..');
const testsDir = path.join(piscinaRoot, 'test') + path.sep;
const entryPoints = new Set([
  path.join(piscinaRoot, 'dist', 'main.js'),
  path.join(piscinaRoot, 'dist', 'index.js'),
  path.join(piscinaRoot, 'dist', 'esm-wrapper.mjs'),
]);
const adapter = path.join(__dirname, 'adapter.cjs');

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const resolved = resolveFilename.call(this, request, parent, ...rest);
  const from = parent?.filename ?? '';
  return from.startsWith(testsDir) && entryPoints.has(resolved) ? adapter : resolved;
};

Module.register(pathToFileURL(path.join(__dirname, 'redirect-hooks.mjs')), {
  data: {
    testsUrl: pathToFileURL(testsDir).href,
    entryPoints: [...entryPoints].map((file) => pathToFileURL(file).href),
    adapter: pathToFileURL(path.join(__dirname, 'adapter.mjs')).href,
  },
});
