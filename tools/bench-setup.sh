#!/usr/bin/env bash
# Installs the benchmark's peers (pinned in bench/package.json) once.
set -euo pipefail
cd "$(dirname "$0")/../bench"
if [ ! -d node_modules ] || [ package.json -nt node_modules/.stamp ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.stamp
fi
