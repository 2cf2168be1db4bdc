#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test tier (unit, e2e, crash).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh release
ctest --preset release --output-on-failure "$@"
