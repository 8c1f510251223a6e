#!/usr/bin/env bash
# Runs the whole test suite: every test on the embedded SQLite, then the database-facing tests
# again on PostgreSQL when PAICHA_TEST_DATABASE_URL names one (each test creates and drops a
# database of its own there). Extra arguments go to both nextest runs.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "cargo-nextest is missing: cargo install cargo-nextest --locked" >&2
  exit 1
fi

echo "== all tests, SQLite"
env -u PAICHA_TEST_DATABASE_URL cargo nextest run --workspace --no-fail-fast "$@"

if [ -n "${PAICHA_TEST_DATABASE_URL:-}" ]; then
  echo "== database-facing tests, PostgreSQL"
  cargo nextest run -p paicha-tests --no-fail-fast "$@"
else
  echo "PostgreSQL skipped: set PAICHA_TEST_DATABASE_URL=postgres://user@host:5432/db to run the database tests on it too."
fi
