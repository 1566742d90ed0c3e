#!/usr/bin/env bash
# The project's heal benchmark (docs/heal-rate.md): builds the `bugstack`
# binary and the `heal-bench` runner, then runs the cases in
# heal-bench/cases through the real product. Arguments go to the runner:
#   scripts/heal-bench.sh                         # every case
#   scripts/heal-bench.sh --cases a,b --jobs 2 --out report.json --markdown table.md
#   scripts/heal-bench.sh --check-only            # only check the cases
# Crate sources are fetched by cargo (crates.io) at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet -p bugstack --bin bugstack -p heal-bench --bin heal-bench
target="${CARGO_TARGET_DIR:-target}"
exec "$target/debug/heal-bench" --bugstack "$target/debug/bugstack" "$@"
