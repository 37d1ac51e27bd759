#!/usr/bin/env bash
# Installs what the real-VS-Code tests need, reproducibly and offline-friendly:
#   - apt: chromium (Playwright drives it), fonts, ripgrep (seeds @vscode/ripgrep's cache), build deps for
#     code-server's native modules (keytar needs libsecret, kerberos needs libkrb5);
#   - npm, pinned, into .vscode-test/ (ignored by git, never global): code-server 4.100.3 (= VS Code 1.100.3, the
#     newest that runs on Node 20) and playwright-core (never `playwright install`: we use Debian's chromium).
# Idempotent: a second run with everything in place returns in well under a second.
# Usage: bash scripts/install-vscode.sh [--force]
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
PLAYWRIGHT_CORE_VERSION=1.65.1
# Pinned in code-server 4.100.3's lib/vscode/npm-shrinkwrap.json and that package's lib/postinstall.js.
RIPGREP_PKG_VERSION=1.15.11
RIPGREP_TAG=v13.0.0-10

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="$ROOT/.vscode-test"
STAMP="$DIR/.installed-$CODE_SERVER_VERSION-$PLAYWRIGHT_CORE_VERSION"

have_apt_bits() {
  command -v chromium >/dev/null 2>&1 && command -v rg >/dev/null 2>&1 && [ -e /usr/share/fonts/truetype/liberation ]
}

if [ "${1:-}" != "--force" ] && [ -f "$STAMP" ] && have_apt_bits && [ -x "$DIR/node_modules/.bin/code-server" ]; then
  echo "install-vscode: already installed (code-server $CODE_SERVER_VERSION, playwright-core $PLAYWRIGHT_CORE_VERSION)"
  exit 0
fi

if ! have_apt_bits || ! dpkg -s libsecret-1-dev libkrb5-dev build-essential pkg-config >/dev/null 2>&1; then
  echo "install-vscode: apt packages"
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends \
    build-essential python3 pkg-config libkrb5-dev libsecret-1-dev ripgrep curl ca-certificates \
    chromium fonts-liberation >/dev/null
fi

mkdir -p "$DIR"
cd "$DIR"
if [ ! -f package.json ]; then
  # The approvals npm >= 11 asks for: these packages' install scripts build keytar/argon2, unpack ripgrep and
  # verify vsce signatures. Recorded so the install keeps working when npm blocks unapproved scripts by default.
  cat > package.json <<'JSON'
{
  "name": "mle-ideator-vscode-test",
  "private": true,
  "description": "code-server + playwright-core for MLE Ideator's real-VS-Code tests (installed by scripts/install-vscode.sh)",
  "allowScripts": {
    "code-server": true,
    "keytar": true,
    "argon2": true,
    "@vscode/ripgrep": true,
    "@vscode/vsce-sign": true,
    "kerberos": true,
    "node-pty": true,
    "@parcel/watcher": true,
    "native-watchdog": true,
    "@vscode/spdlog": true,
    "@vscode/sqlite3": true,
    "@vscode/windows-registry": true,
    "@vscode/deviceid": true,
    "@vscode/policy-watcher": true
  }
}
JSON
fi

# Offline ripgrep: @vscode/ripgrep's postinstall downloads a binary unless its cache already holds the tarball.
TMP_BASE="${TMPDIR:-/tmp}"
RG_CACHE="$TMP_BASE/vscode-ripgrep-cache-$RIPGREP_PKG_VERSION"
RG_TAR="$RG_CACHE/ripgrep-$RIPGREP_TAG-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$RG_TAR" ]; then
  mkdir -p "$RG_CACHE"
  RG_TMP="$(mktemp -d)"
  cp "$(command -v rg)" "$RG_TMP/rg"
  tar -czf "$RG_TAR" -C "$RG_TMP" rg
  rm -rf "$RG_TMP"
fi

# code-server writes config/data/cache during install: keep that out of the user's home.
XDG_TMP="$(mktemp -d)"
trap 'rm -rf "$XDG_TMP"' EXIT
echo "install-vscode: npm install code-server@$CODE_SERVER_VERSION playwright-core@$PLAYWRIGHT_CORE_VERSION (about a minute)"
env npm_config_yes=true npm_config_nodedir=/usr npm_config_unsafe_perm=true npm_config_fund=false \
  npm_config_audit=false npm_config_update_notifier=false \
  XDG_CONFIG_HOME="$XDG_TMP/config" XDG_DATA_HOME="$XDG_TMP/data" XDG_CACHE_HOME="$XDG_TMP/cache" \
  npm install --save-exact --no-package-lock --loglevel=error \
  "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_CORE_VERSION"

# Sanity: the pieces the harness uses must exist.
[ -x "$DIR/node_modules/.bin/code-server" ] || { echo "install-vscode: code-server binary missing" >&2; exit 1; }
RG_BIN="$(find "$DIR/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin" -name rg 2>/dev/null | head -1 || true)"
[ -n "$RG_BIN" ] || echo "install-vscode: warning: @vscode/ripgrep binary not found (search in code-server will not work)" >&2

rm -f "$DIR"/.installed-*
touch "$STAMP"
echo "install-vscode: done ($(du -sh "$DIR" | cut -f1))"
