#!/usr/bin/env node
'use strict';
/**
 * `npm run test:pack`: checks the published package the way a user gets it. Packs the
 * repository (`npm pack`), checks that the docs/ pages the README links are in it, installs the tarball into an empty temporary project (from the npm
 * cache when possible: --prefer-offline), then runs `npx mldeploy --help` and
 * `npx mldeploy train --limit 500 --epochs 1 --data <fixture>` there. The fixture is a small
 * CIFAR-10 set written in the official binary format (scripts/cifar10-fixture.js). Takes about a minute; exits non-zero
 * with the failing command's output on any failure.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { writeCifar10Fixture } = require('./cifar10-fixture');

const repo = path.resolve(__dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-pack-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

function step(title, command, args, cwd) {
  const started = Date.now();
  process.stdout.write(`${title} ... `);
  try {
    const output = execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } });
    process.stdout.write(`ok (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    return output;
  } catch (err) {
    process.stdout.write('FAILED\n');
    process.stderr.write(`$ ${command} ${args.join(' ')}\n${err.stdout ?? ''}${err.stderr ?? ''}\n`);
    throw new Error(`${title} failed`, { cause: err });
  }
}

function main() {
  try {
    const packed = JSON.parse(step('npm pack', npm, ['pack', '--json', '--pack-destination', work], repo));
    const tarball = path.join(work, packed[0].filename);
    // The README is the package's front door and links into docs/: those pages ship with it.
    const shipped = new Set(packed[0].files.map((file) => file.path));
    const readme = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');
    const linked = new Set([...readme.matchAll(/\]\((docs\/[^)#\s]+)/g)].map((m) => m[1]));
    const missing = [...linked].filter((page) => !shipped.has(page));
    if (missing.length > 0) throw new Error(`README links pages the package does not ship: ${missing.join(', ')}`);
    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'pack-check', version: '1.0.0', private: true }));
    step('npm install <tarball> into an empty project', npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], app);

    const help = step('npx mldeploy --help', npx, ['--no-install', 'mldeploy', '--help'], app);
    if (!/Usage: mldeploy/.test(help) || !/train/.test(help)) throw new Error(`unexpected --help output:\n${help}`);

    const data = writeCifar10Fixture(path.join(work, 'fixture'), 120, 100);
    const train = step('npx mldeploy train --limit 500 --epochs 1 --data <fixture>', npx, ['--no-install', 'mldeploy', 'train', '--limit', '500', '--epochs', '1', '--data', data], app);
    const saved = /saved model (\S+) -> (.+)/.exec(train);
    if (!saved || !fs.existsSync(path.resolve(app, saved[2].trim(), 'model.json'))) throw new Error(`train did not report a saved model:\n${train}`);
    if (!fs.existsSync(path.join(app, 'plots', 'training_progress.png'))) throw new Error('train did not write plots/training_progress.png');
    process.stdout.write(`${train.split('\n').find((l) => l.startsWith('test accuracy')) ?? ''}\npack check passed: ${saved[1]} saved in the installed package's project\n`);
  } catch (err) {
    process.stderr.write(`pack check failed: ${err.message}\n`);
    process.exitCode = 1;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main();
