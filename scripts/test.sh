#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs PostgreSQL, Prometheus (with
# promtool), Alertmanager (amtool), docker-compose, Chromium and nginx with apt when missing, a
# virtualenv with the dev tools, then ruff, ruff format --check, mypy and pytest.
# The tests start their own throwaway Postgres cluster and Prometheus on free loopback ports.
# Arguments go to pytest (e.g. -k apply).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v prometheus >/dev/null || missing+=(prometheus)
# The browser tests drive Debian's Chromium (its fontconfig dependency brings a font).
[ -x /usr/bin/chromium ] || missing+=(chromium)
# promtool and amtool check the generated rules and Alertmanager config; docker-compose
# validates docker-compose.yml (no Docker engine is needed for `config -q`).
command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
command -v docker-compose >/dev/null || missing+=(docker-compose)
# openssl makes the certificate of the notification TLS test (tests/notify/test_egress_send.py).
command -v openssl >/dev/null || missing+=(openssl)
# nginx stands in for a Mimir/Cortex gateway (bearer token, X-Scope-OrgID) in front of
# Prometheus in tests/sources/test_datasources_auth.py.
[ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing ${missing[*]}: run as root, or apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "== installing ${missing[*]} (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "== virtualenv"
BOOTSTRAP_EXTRAS=dev source scripts/bootstrap.sh

echo "== ruff check"
.venv/bin/ruff check .
echo "== ruff format --check"
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
# pytest exits 5 when it collected no test: that fails this script like any other failure.
# One worker per core (pytest-xdist), each with its own Postgres cluster and Prometheus;
# SLO_TEST_WORKERS=0 runs everything in this one process.
exec .venv/bin/python -m pytest -n "${SLO_TEST_WORKERS:-auto}" "$@"
