// Layer rules of DESIGN.md, checked by `npm run lint` (dependency-cruiser). Dependencies point down:
// cli → main → http / worker → services → core; ports are interfaces; storage/ and providers/ are
// adapters that implement them; the emulator stands alone.
const IO = '^(node:)?(fs|fs/promises|net|http|https|http2|child_process|dgram|dns|tls|worker_threads|cluster)$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'No file cycles.', from: {}, to: { circular: true } },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'core/ is the pure domain: no I/O, no adapters, no frameworks.',
      from: { path: '^src/core/' },
      to: { pathNot: ['^src/core/', '^node_modules/libphonenumber-js/', '^node_modules/luxon/', '^(node:)?crypto$'] },
    },
    {
      name: 'core-no-io',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: IO },
    },
    {
      name: 'ports-are-interfaces',
      severity: 'error',
      comment: 'ports/ declare what services need; they import only core and other ports.',
      from: { path: '^src/ports' },
      to: { path: '^src/', pathNot: ['^src/ports', '^src/core/'] },
    },
    {
      name: 'services-below-delivery',
      severity: 'error',
      comment: 'services/ are use cases: they see ports and core, never adapters or the layers above.',
      from: { path: '^src/services/' },
      to: { path: '^src/(http|worker|cli|storage|providers|emulator)/|^src/main\\.ts$' },
    },
    {
      name: 'worker-below-http',
      severity: 'error',
      from: { path: '^src/worker/' },
      to: { path: '^src/(http|cli|storage|providers|emulator)/|^src/main\\.ts$' },
    },
    {
      name: 'http-no-adapters',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/(cli|worker|storage|providers)/|^src/main\\.ts$' },
    },
    {
      name: 'adapters-below-services',
      severity: 'error',
      comment: 'storage/, providers/ and metrics/ implement ports; they never call up into use cases or delivery.',
      from: { path: '^src/(storage|providers|metrics)/' },
      to: { path: '^src/(services|http|worker|cli|emulator)/|^src/main\\.ts$' },
    },
    {
      name: 'emulator-stands-alone',
      severity: 'error',
      comment: 'The emulator is a separate Twilio-compatible server; it shares only pure core code.',
      from: { path: '^src/emulator/' },
      to: { path: '^src/', pathNot: ['^src/emulator/', '^src/core/'] },
    },
    {
      name: 'client-stands-alone',
      severity: 'error',
      comment: 'smsrelay/client runs wherever fetch does: it knows the API only through its generated types.',
      from: { path: '^src/client/' },
      to: { pathNot: ['^src/client/', '^node_modules/openapi-fetch/', '^node_modules/openapi-typescript-helpers/'] },
    },
    {
      name: 'kysely-only-in-storage',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/storage/' },
      to: { path: '^node_modules/(kysely|pg|better-sqlite3)/' },
    },
    {
      name: 'twilio-only-in-providers',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(providers|emulator)/' },
      to: { path: '^node_modules/twilio/' },
    },
    {
      name: 'liquidjs-only-in-providers',
      severity: 'error',
      comment: 'The template engine is an adapter (providers/liquid.ts) behind the TemplateEngine port.',
      from: { path: '^src/', pathNot: '^src/providers/' },
      to: { path: '^node_modules/liquidjs/' },
      name: 'prom-client-only-in-metrics',
      severity: 'error',
      comment: 'Services, the worker and the HTTP layer report through the metrics port (src/ports/metrics.ts).',
      from: { path: '^src/', pathNot: '^src/metrics/' },
      to: { path: '^node_modules/prom-client/' },
    },
    {
      name: 'env-only-in-config',
      severity: 'error',
      comment: 'Only the config loader reads the environment; the CLI passes process.env to it.',
      from: { path: '^src/', pathNot: '^src/(config|cli/.*)\\.ts$' },
      to: { path: '^src/cli/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    exclude: { path: '\\.test\\.ts$' },
  },
};
