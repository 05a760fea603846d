#!/usr/bin/env bash
# The validator benchmark and its peer in one run: criterion over the 200
# legitimate ERP queries, then sqlglot's parse + qualify + annotate_types
# over the same file. Prints both medians; docs/BENCHMARKS.md records them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-sqlglot.sh --venv >/dev/null
cargo bench -p glrl-validator --bench validator 2>&1 | grep -E "^validate/|time:"
target/peer/venv/bin/python scripts/sqlglot_bench.py crates/erp/sql/schema.sql crates/validator/corpus/legit.sql
