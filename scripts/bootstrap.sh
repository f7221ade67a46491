# Sourced by the scripts: a virtualenv in .venv with the project installed (and dev tools with
# BOOTSTRAP_EXTRAS=dev). Needs Python >= 3.11 as $PYTHON or python3.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "slo-service needs Python 3.11 or newer as \$PYTHON or python3" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
extras="${BOOTSTRAP_EXTRAS:+[$BOOTSTRAP_EXTRAS]}"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
