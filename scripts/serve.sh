#!/usr/bin/env bash
# Run slo-service with its embedded defaults (SQLite file ./slo-service.db) and the demo model,
# on http://127.0.0.1:8000. Extra arguments go to `slo-service serve` (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
exec .venv/bin/slo-service serve --demo "$@"
