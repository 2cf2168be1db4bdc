#!/usr/bin/env bash
# Installs dependencies, builds (release) and starts a one-node Tessera with
# embedded defaults. Extra arguments go to tesserad.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh release
exec ./build/release/src/node/tesserad "$@"
