import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { brokenLinks } from './helpers/markdown-links';

const root = path.resolve(__dirname, '..');
const docsDir = path.join(root, 'docs');
const pages = [path.join(root, 'README.md'), ...readdirSync(docsDir).filter((f) => f.endsWith('.md')).map((f) => path.join(docsDir, f))];

describe('README and docs/', () => {
  it('every relative link and #anchor resolves', () => {
    expect(brokenLinks(pages).map((line) => path.relative(root, line))).toEqual([]);
  });

  it('README is a front door: well under 15 KB', () => {
    expect(statSync(path.join(root, 'README.md')).size).toBeLessThan(12 * 1024);
  });

  it('README links every docs page', () => {
    const linked = new Set(readdirSync(docsDir).filter((f) => f.endsWith('.md') && !f.startsWith('incoming-')));
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    expect([...linked].filter((f) => !readme.includes(`](docs/${f}`))).toEqual([]);
  });
});

describe('brokenLinks', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mldeploy-links-'));
    mkdirSync(path.join(dir, 'docs'));
    writeFileSync(
      path.join(dir, 'docs', 'serve.md'),
      '# Serving: `mldeploy serve`\n\n## Options\n\n## Options\n\n```\n[in code](missing.md)\n```\n',
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const check = (text: string): string[] => {
    const file = path.join(dir, 'README.md');
    writeFileSync(file, text);
    return brokenLinks([file]).map((line) => line.slice(file.length + 2));
  };

  it('accepts GitHub heading slugs, repeated headings and links inside code', () => {
    expect(check('[a](docs/serve.md#serving-mldeploy-serve) [b](docs/serve.md#options-1) [c](#top)\n\n# Top\n\n`[x](nope.md)`\n')).toEqual([]);
  });

  it('reports a missing file, a missing anchor and an anchor on this page', () => {
    expect(check('[a](docs/train.md) [b](docs/serve.md#endpoints) [c](#nowhere) [d](https://example.com/x.md)\n')).toEqual([
      'docs/train.md (no such file)',
      'docs/serve.md#endpoints (no heading with that anchor)',
      '#nowhere (no heading with that anchor)',
    ]);
  });
});
