#!/usr/bin/env bash
# Runs the whole test suite: installs Redis when missing, then cargo test.
# Tests start their own redis-server on free loopback ports and stop them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
cargo test --workspace --locked --no-fail-fast "$@"
