/**
 * The import rules of docs/architecture.md, checked by `npm run lint` (depcruise).
 * Type-only imports count too: a type import is still a dependency between packages.
 * A `to.path` is the resolved file: node_modules/<package>/... for packages, the bare name for
 * Node's own modules (node:fs resolves to fs). test/lint-rules.test.ts checks that each rule fires.
 */
/** Optional dependencies may be absent (tfjs-node cannot install offline); code loads them guardedly. */
const OPTIONAL = Object.keys(require('./package.json').optionalDependencies ?? {});

const PURE_MODULES = [
  '^src/preprocess/(?!decode-pool|decode-worker)[^/]+[.]ts$',
  '^src/drift/(stats|kolmogorov|rules|recommend|gate|measure)[.]ts$',
  '^src/drift/(detect|estimate)/',
  '^src/data/corruptions/',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, inside a package or between packages.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'model-not-to-upper-layers',
      severity: 'error',
      comment: 'src/model is used by serve, drift, report and the commands; it never imports them.',
      from: { path: '^src/model/' },
      to: { path: '^src/(serve|drift|commands|report)/' },
    },
    {
      name: 'serve-not-to-drift',
      severity: 'error',
      comment: 'The API knows nothing about drift testing (drift talks to it over HTTP).',
      from: { path: '^src/serve/' },
      to: { path: '^src/(drift|report|commands)/' },
    },
    {
      name: 'drift-not-to-report',
      severity: 'error',
      comment: 'Drift computes one result object; the command has it rendered by src/report.',
      from: { path: '^src/drift/' },
      to: { path: '^src/(report|commands)/' },
    },
    {
      name: 'drift-to-serve-only-through-its-entry',
      severity: 'error',
      comment: "Drift reaches a server over HTTP; --model mode starts one through serve's public entry (src/serve/index.ts) only.",
      from: { path: '^src/drift/' },
      to: { path: '^src/serve/', pathNot: '^src/serve/index[.]ts$' },
    },
    {
      name: 'report-renders-only',
      severity: 'error',
      comment: 'Renderers take result objects; they never call the commands, the API or the replay.',
      from: { path: '^src/report/' },
      to: { path: '^src/(commands|serve)/' },
    },
    {
      name: 'pure-modules-without-io',
      severity: 'error',
      comment: 'Pure modules are functions of their arguments, unit-tested against independently computed values: no HTTP, CLI, terminal or filesystem code.',
      from: { path: PURE_MODULES },
      to: {
        path: ['^(fs|fs/promises|child_process|http|https|net|cluster)$', '(^|/)node_modules/(express|multer|commander|chalk|cli-progress)/'],
      },
    },
    {
      name: 'only-the-cli-talks-to-the-terminal',
      severity: 'error',
      comment: 'Only src/cli.ts and src/commands parse arguments and print: library code returns values and reports progress through callbacks.',
      from: { path: '^src/', pathNot: '^src/(cli[.]ts|commands/)' },
      to: { path: '(^|/)node_modules/(commander|chalk|cli-progress|supports-color)/' },
    },
    {
      name: 'src-not-to-tests-or-tools',
      severity: 'error',
      comment: 'The package ships src (as dist/); test/, bench/ and scripts/ are not in it.',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'benches-not-to-tests',
      severity: 'error',
      comment: 'Benches use the built package (dist/) and their own helpers, not the test suite.',
      from: { path: '^(bench|scripts)/' },
      to: { path: '^test/' },
    },
    {
      name: 'src-not-to-dev-dependencies',
      severity: 'error',
      comment: 'Users install the dependencies only; code in src must not need a devDependency at run time.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing.',
      from: {},
      to: { couldNotResolve: true, pathNot: OPTIONAL.map((name) => `^${name}$`) },
    },
    {
      name: 'no-undeclared-package',
      severity: 'error',
      comment: 'Every package imported is declared in package.json.',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.cjs', '.mjs', '.json', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
