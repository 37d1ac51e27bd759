#!/usr/bin/env bash
# Sets up everything MLE Ideator needs on a fresh Debian 12 machine (root, registries only), idempotently:
#   apt packages (redis-server: scale-out mode and its tests), npm ci (builds better-sqlite3 from source), the Python
#   venv (.venv), and — unless IDEATOR_SKIP_VSCODE=1 — code-server + Chromium + playwright-core for the real-VS-Code
#   tests.
set -euo pipefail
cd "$(dirname "$0")/.."

export npm_config_yes=true npm_config_nodedir=${npm_config_nodedir:-/usr} npm_config_unsafe_perm=true
export DEBIAN_FRONTEND=noninteractive

need_apt=()
for pkg in build-essential pkg-config python3 python3-venv curl ripgrep libsecret-1-dev libkrb5-dev bubblewrap util-linux e2fsprogs redis-server; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund 2>&1 | grep -vE 'Unknown user config|EBADENGINE|^npm warn (install-scripts|EBADENGINE)' || true
  [ -f node_modules/.package-lock.json ] || { echo "setup: npm ci failed"; exit 1; }
fi

bash scripts/setup-python.sh

if [ "${IDEATOR_SKIP_VSCODE:-0}" != "1" ] && [ -f scripts/install-vscode.sh ]; then
  bash scripts/install-vscode.sh
fi

node scripts/build.mjs >/dev/null 2>&1 || node scripts/build.mjs
echo "setup: done"
