/** `mldeploy drift` option handling: help text and usage errors (exit 2) before anything is loaded or sent. */
import { RULE_METRICS } from '../src/drift/rules';
import { DriftOptions, validateDriftOptions } from '../src/drift/options';
import { runCli } from './helpers/drift-fixtures';

describe('mldeploy drift --help', () => {
  let help: string;
  beforeAll(async () => {
    const run = await runCli(['drift', '--help']);
    expect(run.code).toBe(0);
    // Commander wraps to the terminal width; compare with whitespace runs collapsed where needed.
    help = run.stdout;
  });

  it('lists every option with its default', () => {
    for (const flag of [
      '--url <url>', '--model <path>', '--samples <n>', '--scenarios <list>', '--scenario <name=source>', '--concurrency <n>',
      '--timeout-ms <ms>', '--retries <n>', '--seed <n>', '--data <source>', '--cifar100 <source>', '--data-dir <dir>', '--out <dir>',
      '--plots-dir <dir>', '--reference <kind>', '--fail-on <rule>', '--api-key <key>', '--min-success-rate <fraction>', '--deadline <seconds>',
    ]) {
      expect(help).toContain(flag);
    }
    const flat = help.replace(/\s+/g, ' ');
    expect(flat).toContain('images per scenario (default: 1000)');
    expect(flat).toContain('(default: "clean,noisy,very_noisy,cifar100")');
    expect(flat).toContain('requests in flight (default: 16)');
    expect(flat).toContain('(choices: "baseline", "model", default: "baseline")');
    expect(flat).toContain('env: MLDEPLOY_CIFAR100');
    expect(flat).toContain('env: MLDEPLOY_API_KEY');
    expect(flat).not.toContain('default: []');
    expect(flat).toContain('(0 disables) (default: 0.99)');
  });

  it('documents the rule grammar, every metric and operator, quoting, and examples', () => {
    expect(help).toContain('[<scenario>:]<metric><op><number>');
    for (const metric of RULE_METRICS) expect(help).toMatch(new RegExp(`^  ${metric} `, 'm'));
    expect(help).toContain('Operators: > >= < <=');
    expect(help).toContain('Quote every rule');
    expect(help).toContain("--fail-on 'psi>0.2'");
    expect(help).toMatch(/blur +/);
    expect(help).toContain('MLDEPLOY_CIFAR100');
  });

  it('documents that the gate fails closed, and the exit codes', () => {
    const flat = help.replace(/\s+/g, ' ');
    expect(flat).toContain('an API key the server refuses (401/403) stops the run (exit 2)');
    expect(flat).toContain('fewer than --min-success-rate of its requests fails the gate whatever the rules say');
    expect(flat).toContain('marked incomplete ("complete": false)');
    expect(flat).toMatch(/Exit codes: 0 every rule and --min-success-rate hold on a complete run; 1 .* incomplete .*; 2 .* an API key it refuses/);
  });
});

describe('mldeploy drift usage errors (exit 2)', () => {
  it.each([
    [['drift'], /exactly one of --url .* or --model/],
    [['drift', '--url', 'http://127.0.0.1:1', '--model', 'saved_models/latest'], /exactly one of --url/],
    [['drift', '--url', 'ftp://example.com'], /--url must be http:\/\/ or https:\/\//],
    [['drift', '--model', '/no/such/model'], /--model \/no\/such\/model: no such file or folder/],
    [['drift', '--url', 'not a url'], /is not a URL/],
    [['drift', '--url', 'http://127.0.0.1:1', '--samples', '0'], /--samples.*integer >= 1/],
    [['drift', '--url', 'http://127.0.0.1:1', '--concurrency', 'many'], /--concurrency.*integer >= 1/],
    [['drift', '--url', 'http://127.0.0.1:1', '--reference', 'yesterday'], /--reference.*baseline, model/],
    [['drift', '--url', 'http://127.0.0.1:1', '--scenarios', 'clean,foggy'], /unknown scenario "foggy".*blur/],
    [['drift', '--url', 'http://127.0.0.1:1', '--scenarios', 'noisy'], /add clean to --scenarios, or use --reference model/],
    [['drift', '--url', 'http://127.0.0.1:1', '--scenarios', 'clean,clean'], /listed twice/],
    [['drift', '--url', 'http://127.0.0.1:1', '--scenario', 'noslash'], /expected name=<folder or \.tar\.gz>/],
    [['drift', '--url', 'http://127.0.0.1:1', '--scenarios', 'clean', '--scenario', 'noisy=/tmp'], /clashes with the built-in scenario/],
    [['drift', '--url', 'http://127.0.0.1:1', '--scenarios', 'clean', '--scenario', 'mine=/no/such/folder'], /--scenario mine= \/no\/such\/folder: no such file/],
    [['drift', '--url', 'http://127.0.0.1:1', '--scenarios', 'clean', '--fail-on', 'psi'], /invalid --fail-on rule "psi"/],
    [['drift', '--url', 'http://127.0.0.1:1', '--scenarios', 'clean', '--fail-on', 'latency>3'], /unknown metric "latency"/],
    [['drift', '--url', 'http://127.0.0.1:1', '--scenarios', 'clean,noisy', '--fail-on', 'blur:psi>0.2'], /names scenario "blur", which this run does not have/],
    [['drift', '--url', 'http://127.0.0.1:1', '--min-success-rate', '1.5'], /--min-success-rate must be between 0 and 1, got "1.5"/],
    [['drift', '--url', 'http://127.0.0.1:1', '--min-success-rate', 'most'], /--min-success-rate must be between 0 and 1, got "most"/],
    [['drift', '--url', 'http://127.0.0.1:1', '--deadline', 'soon'], /--deadline must be a number > 0, got "soon"/],
  ])('%j', async (args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});

describe('validateDriftOptions', () => {
  const base: DriftOptions = {
    url: 'http://127.0.0.1:8000',
    samples: 10,
    scenarios: ['clean', 'noisy', 'cifar100'],
    customScenarios: [{ name: 'street', source: __dirname }],
    concurrency: 4,
    timeoutMs: 1000,
    retries: 1,
    seed: 3,
    dataDir: 'data',
    reference: 'baseline',
    failOn: ['psi>0.2', 'street:accuracy<0.5'],
  };

  it('plans scenarios in order (built-ins, then --scenario ones) and parses every rule', () => {
    const plan = validateDriftOptions(base);
    expect(plan.scenarios).toEqual([
      { name: 'clean', kind: 'transform' },
      { name: 'noisy', kind: 'transform' },
      { name: 'cifar100', kind: 'cifar100' },
      { name: 'street', kind: 'folder', source: __dirname },
    ]);
    expect(plan.rules.map((r) => r.text)).toEqual(['psi>0.2', 'street:accuracy<0.5']);
  });

  it('lets --reference model run without clean', () => {
    expect(() => validateDriftOptions({ ...base, scenarios: ['noisy'], reference: 'model', failOn: [] })).not.toThrow();
  });

  it('plans the CIFAR-10-C and Failing Loudly shifts as CIFAR-10 transforms, and rules scoped to them', () => {
    const names = ['clean', 'gaussian_noise:3', 'contrast:5', 'noise_std10:50%', 'transform:large', 'knockout_class0:100%'];
    const plan = validateDriftOptions({ ...base, scenarios: names, customScenarios: [], failOn: ['drift_detected', 'contrast:5:p_value<0.01'] });
    expect(plan.scenarios).toEqual(names.map((name) => ({ name, kind: 'transform' })));
    expect(plan.rules.map((r) => [r.scenario, r.metric])).toEqual([[null, 'drift_detected'], ['contrast:5', 'p_value']]);
    expect(plan.alpha).toBe(0.05);
  });

  it.each([
    ['gaussian_noise:6', /unknown scenario "gaussian_noise:6" in --scenarios.*CIFAR-10-C corruptions <corruption>:<1-5>/],
    ['contrast:0', /unknown scenario "contrast:0"/],
    ['noise_std10:40%', /unknown scenario "noise_std10:40%"/],
    ['transform:huge', /unknown scenario "transform:huge"/],
  ])('refuses the shift name %j (exit 2 before anything is loaded)', (name, message) => {
    expect(() => validateDriftOptions({ ...base, scenarios: ['clean', name], customScenarios: [], failOn: [] })).toThrow(message);
  });

  it('takes --alpha in (0, 1) only', () => {
    expect(validateDriftOptions({ ...base, alpha: 0.01 }).alpha).toBe(0.01);
    for (const alpha of [0, 1, -0.1, Number.NaN]) expect(() => validateDriftOptions({ ...base, alpha })).toThrow(/--alpha must be between 0 and 1/);
  });
});
