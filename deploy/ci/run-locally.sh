#!/usr/bin/env bash
# Runs the steps of the CI example (deploy/ci/github-actions.yml) on this machine, as written:
# npm ci, train a small model, start `mldeploy serve`, wait for /ping, the drift gate, stop the
# server, and "upload" the report into ci-artifacts/drift-report/. Exit code 0 = gate passed.
#
#   bash deploy/ci/run-locally.sh            # or: npm run ci:example
#
# Offline machines: point train and drift at a local CIFAR-10 copy, e.g.
#   MLDEPLOY_CIFAR10=../shared/datasets/cifar10-jpeg.tar.gz bash deploy/ci/run-locally.sh
# Like CI, the job runs `npm ci`, which reinstalls this checkout's node_modules; to leave a
# working copy alone, run it in a fresh clone:
#   git clone . /tmp/mldeploy-ci && cd /tmp/mldeploy-ci && npm ci && bash deploy/ci/run-locally.sh
# Options (see deploy/ci/run-locally.js): --workflow <file> --job <id> --workspace <dir> --artifacts-dir <dir>
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -d node_modules/yaml ]; then
  echo "run-locally: installing dependencies first (the runner reads the workflow with the yaml package)"
  npm ci
fi
exec node deploy/ci/run-locally.js "$@"
