#!/usr/bin/env bash
# Regenerates requirements.lock: every package of auditkit, its dev and ray extras, torch's CPU build and
# the build backend, pinned with sha256 hashes, for Python 3.11 on Linux x86_64 (the set-up that
# scripts/bootstrap.sh installs). pip-compile (pip-tools) runs from a throwaway virtual
# environment, so nothing is added to .venv; it reads pip's configuration, so it sees the local
# torch wheel (find-links) that a plain index does not serve.
#
# Usage: scripts/lock.sh [--upgrade]      (make lock, make lock UPGRADE=1)
#   without --upgrade  versions already in requirements.lock are kept where pyproject.toml and
#                      scripts/lock.in still allow them; only what changed there is re-resolved
#   --upgrade          every package moves to its newest release that the ranges allow
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# The lock tool, pinned so that the same inputs give the same lock (pip-tools follows pip's internals).
TOOLS=(pip-tools==7.7.0 pip==26.3)
upgrade=()
[ "${1:-}" = "--upgrade" ] && upgrade=(--upgrade)

say() { printf 'auditkit lock: %s\n' "$*" >&2; }

target=$("$PYTHON" -c 'import platform, sys; print(f"{sys.version_info[0]}.{sys.version_info[1]} {sys.platform} {platform.machine()}")')
if [ "$target" != "3.11 linux x86_64" ]; then
    say "the lock is for Python 3.11 on Linux x86_64; $PYTHON is $target (set PYTHON=python3.11)"
    exit 1
fi

tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
say "installing ${TOOLS[*]} into a throwaway environment"
"$PYTHON" -m venv "$tools/venv"
"$tools/venv/bin/python" -m pip install -q "${TOOLS[@]}"

say "resolving pyproject.toml [dev,ray] + scripts/lock.in into requirements.lock (it collects every file's hash: up to a few minutes)"
CUSTOM_COMPILE_COMMAND="make lock" "$tools/venv/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras --extra dev --extra ray \
    --no-emit-index-url --no-emit-find-links ${upgrade[@]+"${upgrade[@]}"} \
    --output-file requirements.lock pyproject.toml scripts/lock.in
say "wrote requirements.lock ($(grep -c '^[A-Za-z0-9]' requirements.lock) packages); make setup installs it"
