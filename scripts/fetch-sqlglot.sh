#!/usr/bin/env bash
# Fetches sqlglot's source distribution (pinned) from PyPI into target/peer/
# for the peer tests (its tests/fixtures: identity.sql, TPC-H) and, with
# --venv, a virtual environment with sqlglot installed for the benchmark.
# Idempotent: does nothing when already there.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=30.30.0
PEER=target/peer
mkdir -p "$PEER"
if [ ! -d "$PEER/sqlglot-$VERSION/tests/fixtures" ]; then
    python3 -m pip download --quiet --no-deps --no-binary :all: "sqlglot==$VERSION" -d "$PEER"
    tar -xzf "$PEER/sqlglot-$VERSION.tar.gz" -C "$PEER"
fi
if [ "${1:-}" = "--venv" ] && [ ! -x "$PEER/venv/bin/python" ]; then
    python3 -m venv "$PEER/venv"
    "$PEER/venv/bin/pip" install --quiet "sqlglot==$VERSION"
fi
echo "$PEER/sqlglot-$VERSION/tests/fixtures"
