#!/usr/bin/env bash
# The project's test command (README.md): installs the test peers when they
# are missing, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-peers.sh
cargo test --workspace --all-features "$@"
