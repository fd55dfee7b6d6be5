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

/** Every rule is an error: `npm run lint` fails on it. */
function rule(name, comment, from, to) {
  return { name, severity: 'error', comment, from, to };
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    rule(
      'no-circular',
      'No import cycles, inside a package or between packages.',
      {},
      { circular: true },
    ),
    rule(
      'model-not-to-upper-layers',
      'src/model is used by serve, monitor, drift, report and the commands; it never imports them.',
      { path: '^src/model/' },
      { path: '^src/(serve|monitor|drift|commands|report)/' },
    ),
    rule(
      'serve-not-to-drift',
      'The API knows nothing about drift testing (drift talks to it over HTTP).',
      { path: '^src/serve/' },
      { path: '^src/(drift|report|commands)/' },
    ),
    rule(
      'drift-not-to-report',
      'Drift computes one result object; the command has it rendered by src/report.',
      { path: '^src/drift/' },
      { path: '^src/(report|commands)/' },
    ),
    rule(
      'drift-to-serve-only-through-its-entry',
      "Drift reaches a server over HTTP; --model mode starts one through serve's public entry (src/serve/index.ts) only.",
      { path: '^src/drift/' },
      { path: '^src/serve/', pathNot: '^src/serve/index[.]ts$' },
    ),
    rule(
      'monitor-not-to-serve',
      'The monitor is a library the server (and mldeploy monitor) use; it never imports the server back.',
      { path: '^src/monitor/' },
      { path: '^src/(serve|commands)/' },
    ),
    rule(
      'retrain-not-to-serve',
      'Retraining trains and compares in-process and reads a live server over HTTP only; the command prints its result.',
      { path: '^src/retrain/' },
      { path: '^src/(serve|commands|report)/' },
    ),
    rule(
      'rollout-not-to-commands',
      'Promotion rules and the rollback watcher are library code the server and mldeploy models call; they never import a command.',
      { path: '^src/rollout/' },
      { path: '^src/(commands|report)/' },
    ),
    rule(
      'report-renders-only',
      'Renderers take result objects; they never call the commands, the API or the replay.',
      { path: '^src/report/' },
      { path: '^src/(commands|serve)/' },
    ),
    rule(
      'pure-modules-without-io',
      'Pure modules are functions of their arguments, unit-tested against independently computed values: no HTTP, CLI, terminal or filesystem code.',
      { path: PURE_MODULES },
      { path: ['^(fs|fs/promises|child_process|http|https|net|cluster)$', '(^|/)node_modules/(express|multer|commander|chalk|cli-progress)/'] },
    ),
    rule(
      'only-the-cli-talks-to-the-terminal',
      'Only src/cli.ts and src/commands parse arguments and print: library code returns values and reports progress through callbacks.',
      { path: '^src/', pathNot: '^src/(cli[.]ts|commands/)' },
      { path: '(^|/)node_modules/(commander|chalk|cli-progress|supports-color)/' },
    ),
    rule(
      'src-not-to-tests-or-tools',
      'The package ships src (as dist/); test/, bench/ and scripts/ are not in it.',
      { path: '^src/' },
      { path: '^(test|bench|scripts)/' },
    ),
    rule(
      'benches-not-to-tests',
      'Benches use the built package (dist/) and their own helpers, not the test suite.',
      { path: '^(bench|scripts)/' },
      { path: '^test/' },
    ),
    rule(
      'src-not-to-dev-dependencies',
      'Users install the dependencies only; code in src must not need a devDependency at run time.',
      { path: '^src/' },
      { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    ),
    rule(
      'not-to-unresolvable',
      'An import that resolves to nothing.',
      {},
      { couldNotResolve: true, pathNot: OPTIONAL.map((name) => `^${name}$`) },
    ),
    rule(
      'no-undeclared-package',
      'Every package imported is declared in package.json.',
      {},
      { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    ),
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
