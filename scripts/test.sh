#!/usr/bin/env bash
# Runs the whole test suite: every test on the embedded SQLite, then the database-facing tests
# again on PostgreSQL when PAICHA_TEST_DATABASE_URL names one (each test creates and drops a
# database of its own there). Extra arguments go to both runs.
#
# The runner is cargo-nextest. On a machine without it, this installs it from crates.io
# (`cargo install --locked`); if that is not possible (no network, PAICHA_NO_INSTALL=1), it
# falls back to `cargo test`, which runs the same tests, one binary after the other.
set -euo pipefail
cd "$(dirname "$0")/.."

# The web faces are tested in a real headless Chromium driven over WebDriver (Debian's chromium
# and chromium-driver, with fonts-noto-cjk so that Chinese does not show as boxes). Installed
# here when missing and possible (root with apt); otherwise those tests fail and say why.
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1 \
  || ! { command -v fc-list >/dev/null 2>&1 && fc-list | grep -qi 'Noto Sans CJK'; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ "${PAICHA_NO_INSTALL:-0}" != 1 ]; then
    echo "installing chromium, chromium-driver and fonts-noto-cjk for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
  else
    echo "chromium, chromium-driver or fonts-noto-cjk is missing: the browser tests will fail" >&2
    echo "(Debian: apt-get install chromium chromium-driver fonts-noto-cjk)" >&2
  fi
fi

# The deployment tests (crates/server/tests/deploy.rs) run deploy/'s nginx configuration in a
# real nginx, check deploy/'s systemd unit with systemd-analyze, read deploy/'s YAML with
# PyYAML, and keep blobs in moto's S3 server. Debian's nginx, systemd and python3-yaml, and
# moto from PyPI, installed here when missing and possible; otherwise those tests fail and say
# which is missing.
missing_apt=()
command -v nginx >/dev/null 2>&1 || missing_apt+=(nginx)
command -v systemd-analyze >/dev/null 2>&1 || missing_apt+=(systemd)
command -v python3 >/dev/null 2>&1 || missing_apt+=(python3 python3-pip)
python3 -c 'import yaml' >/dev/null 2>&1 || missing_apt+=(python3-yaml)
if ! command -v moto_server >/dev/null 2>&1 && ! python3 -m pip --version >/dev/null 2>&1; then
  missing_apt+=(python3-pip)
fi
if [ "${#missing_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ "${PAICHA_NO_INSTALL:-0}" != 1 ]; then
    echo "installing ${missing_apt[*]} for the deployment tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_apt[@]}" >/dev/null
  else
    echo "${missing_apt[*]} missing: the deployment tests will fail (Debian: apt-get install ${missing_apt[*]})" >&2
  fi
fi
# PyYAML may be wanted by a python3 other than Debian's (pyenv): then from PyPI.
if ! python3 -c 'import yaml' >/dev/null 2>&1 && [ "${PAICHA_NO_INSTALL:-0}" != 1 ]; then
  python3 -m pip install --quiet pyyaml || python3 -m pip install --quiet --break-system-packages pyyaml || true
fi
if ! command -v moto_server >/dev/null 2>&1; then
  if [ "${PAICHA_NO_INSTALL:-0}" != 1 ] && command -v python3 >/dev/null 2>&1; then
    echo "installing moto[server] from PyPI for the deployment test's S3 server"
    python3 -m pip install --quiet 'moto[server]' \
      || python3 -m pip install --quiet --break-system-packages 'moto[server]' \
      || echo "moto could not be installed: the deployment end-to-end test will fail" >&2
    hash -r
  else
    echo "moto_server is missing: the deployment end-to-end test will fail (pip install 'moto[server]')" >&2
  fi
fi

# The test kit's folders (paicha-kit-<pid>-*) whose test process is gone, as a test killed
# outright leaves them: swept before and after the runs (the kit also sweeps them when a test
# process makes its first folder). Its processes die with the test (tests/src/process.rs).
sweep_kit_folders() {
  local dir pid
  for dir in "${TMPDIR:-/tmp}"/paicha-kit-*; do
    [ -d "$dir" ] || continue
    pid=${dir##*/paicha-kit-}
    pid=${pid%%-*}
    [ -d "/proc/$pid" ] || rm -rf -- "$dir"
  done
}
sweep_kit_folders
trap sweep_kit_folders EXIT

runner=nextest
if ! cargo nextest --version >/dev/null 2>&1; then
  if [ "${PAICHA_NO_INSTALL:-0}" != 1 ] && {
    echo "cargo-nextest is missing: installing it (cargo install cargo-nextest --locked)"
    cargo install cargo-nextest --locked
  } && cargo nextest --version >/dev/null 2>&1; then
    runner=nextest
  else
    echo "cargo-nextest is not available: running the tests with cargo test instead"
    runner=cargo-test
  fi
fi

# run [env assignments or -u VAR ...] -- <cargo args...>: the chosen runner under `env`.
run() {
  local envargs=()
  while [ "$1" != -- ]; do envargs+=("$1"); shift; done
  shift
  if [ "$runner" = nextest ]; then
    env "${envargs[@]}" cargo nextest run --no-fail-fast "$@"
  else
    # One test at a time: nextest gives every test a process of its own, and a few tests
    # measure their process's memory, which tests running beside them in one process would
    # disturb.
    env "${envargs[@]}" cargo test --no-fail-fast "$@" -- --test-threads=1
  fi
}

echo "== all tests, SQLite"
run -u PAICHA_TEST_DATABASE_URL -- --workspace "$@"

if [ -n "${PAICHA_TEST_DATABASE_URL:-}" ]; then
  echo "== database-facing tests, PostgreSQL"
  run -- -p paicha-tests "$@"
  echo "== the deployment end-to-end test, PostgreSQL"
  run -- -p paicha-server --test deploy "$@"
else
  echo "PostgreSQL skipped: set PAICHA_TEST_DATABASE_URL=postgres://user@host:5432/db to run the database tests on it too."
fi
