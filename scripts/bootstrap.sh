#!/usr/bin/env bash
# Creates .venv on first use and keeps it in step with pyproject.toml.
# Order matters: torch==2.13.0 first (the local CPU build; a plain `torch`
# requirement would pull gigabytes of CUDA packages), then the project with
# its dev extras. Also checks WeasyPrint's system libraries, installing them
# with apt when running as root, otherwise stopping with a one-line message.
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
want=$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
    say "installing torch==2.13.0, then auditkit[dev] (first run takes a minute or two)"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q "torch==2.13.0"
    "$VENV/bin/python" -m pip install -q -e ".[dev]"
    echo "$want" > "$STAMP"
fi
