// The ES module half of redirect.cjs (module.register hooks).
let settings;

export function initialize(data) {
  settings = { ...data, entryPoints: new Set(data.entryPoints) };
}

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  const from = context.parentURL ?? '';
  return from.startsWith(settings.testsUrl) && settings.entryPoints.has(resolved.url)
    ? { ...resolved, url: settings.adapter, format: 'module' }
    : resolved;
}
