#!/usr/bin/env bash
# Creates .venv on first use and keeps it in step with requirements.lock.
# Every package (torch's CPU build, auditkit's dependencies and dev extra, the
# build backend, pip itself) is installed from the lock with its sha256 checked
# (pip --require-hashes: nothing unpinned or unhashed is fetched), then auditkit
# itself, editable, without dependencies or build isolation. The lock's sha256 is
# written to .venv/auditkit-lock.sha256, where the evidence's environment record
# reads it. `make lock` (scripts/lock.sh) regenerates the lock. Also checks
# WeasyPrint's system libraries, installing them with apt when running as root,
# otherwise stopping with a one-line message.
#
# Usage: scripts/bootstrap.sh [--test-tools]
#   --test-tools  also install poppler-utils (pdftoppm, pdftotext, pdfsig) and
#                 chromium (HTML screenshots) when root; tests that need them
#                 skip, saying why, when they are absent.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.auditkit-installed
LOCK=requirements.lock
LOCK_RECORD=$VENV/auditkit-lock.sha256
want_test_tools=0
[ "${1:-}" = "--test-tools" ] && want_test_tools=1

say() { printf 'auditkit setup: %s\n' "$*" >&2; }

have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }

apt_install() {
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        say "installing system packages: $*"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null 2>&1 || true
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null
        return 0
    fi
    return 1
}

# --- WeasyPrint's system libraries ------------------------------------------
missing=()
have_lib 'libpango-1.0.so.0' || missing+=(libpango-1.0-0)
have_lib 'libpangoft2-1.0.so.0' || missing+=(libpangoft2-1.0-0)
have_lib 'libharfbuzz-subset.so.0' || missing+=(libharfbuzz-subset0)
if [ ${#missing[@]} -gt 0 ]; then
    if ! apt_install "${missing[@]}"; then
        say "missing system packages for WeasyPrint: ${missing[*]} (install them with: sudo apt-get install ${missing[*]})"
        exit 1
    fi
fi

if [ "$want_test_tools" = 1 ]; then
    tools=()
    command -v pdftoppm >/dev/null 2>&1 || tools+=(poppler-utils)
    command -v chromium >/dev/null 2>&1 || tools+=(chromium)
    if [ ${#tools[@]} -gt 0 ]; then
        apt_install "${tools[@]}" || say "not installed (not root): ${tools[*]}; the tests that need them will be skipped"
    fi
fi

# --- virtual environment -----------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV with $($PYTHON --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi
lock_sha=$(sha256sum "$LOCK" | cut -d' ' -f1)
want=$( (cat pyproject.toml scripts/bootstrap.sh; echo "$lock_sha") | sha256sum | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ] || [ "$(cat "$LOCK_RECORD" 2>/dev/null)" != "$lock_sha" ]; then
    say "installing the packages pinned in $LOCK (hash-checked), then auditkit (first run takes a few minutes)"
    rm -f "$STAMP" "$LOCK_RECORD"
    # pip first, from its locked entry, so the rest is installed by the locked pip, not the venv's bundled one
    pip_entry=$(mktemp)
    trap 'rm -f "$pip_entry"' EXIT
    awk '/^pip==/ { found = 1 } found { print; if ($0 !~ /\\$/) exit }' "$LOCK" > "$pip_entry"
    "$VENV/bin/python" -m pip install -q --require-hashes --no-deps -r "$pip_entry"
    "$VENV/bin/python" -m pip install -q --require-hashes -r "$LOCK"
    "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
    extra=$("$VENV/bin/python" -m pip freeze --exclude-editable 2>/dev/null | sed 's/==.*//' | tr 'A-Z_.' 'a-z--' \
        | grep -vxF -f <(grep -o '^[A-Za-z0-9][A-Za-z0-9._-]*==' "$LOCK" | sed 's/==$//' | tr 'A-Z_.' 'a-z--') || true)
    [ -z "$extra" ] || say "installed in $VENV but not in $LOCK (left in place): $(echo $extra)"
    echo "$lock_sha" > "$LOCK_RECORD"
    echo "$want" > "$STAMP"
fi
