# Sourced by the scripts: a virtualenv in .venv with the project installed (and dev tools with
# BOOTSTRAP_EXTRAS=dev). Needs Python >= 3.11 as $PYTHON or python3.
# The install (pip install -e, some 9 s) runs only when needed: .venv/.slo-service-installed
# keeps the sha256 of the pyproject.toml last installed and its extras, and the install is
# skipped while they match (the extras asked for being among those installed), this
# checkout's package imports from the virtualenv and its command exists.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "slo-service needs Python 3.11 or newer as \$PYTHON or python3" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi

# `check` exits 0 when the stamp matches and the package imports; `write` makes the stamp.
# -I: neither the current directory nor PYTHON* variables make the import succeed.
bootstrap_stamp() {
  .venv/bin/python -I - "$1" "${BOOTSTRAP_EXTRAS:-}" <<'EOF'
import hashlib
import sys
from pathlib import Path

action, extras = sys.argv[1], sys.argv[2]
stamp = Path(".venv/.slo-service-installed")
wanted = {extra.strip() for extra in extras.split(",") if extra.strip()}
digest = hashlib.sha256(Path("pyproject.toml").read_bytes()).hexdigest()
if action == "write":
    stamp.write_text(f"{digest} {','.join(sorted(wanted))}\n")
    sys.exit(0)
try:
    recorded, _, installed = stamp.read_text().strip().partition(" ")
except OSError:
    sys.exit(1)
if recorded != digest or not wanted <= set(installed.split(",")):
    sys.exit(1)
try:
    import slo_service
except ImportError:
    sys.exit(1)
sys.exit(Path(slo_service.__file__).resolve().parent != Path("slo_service").resolve())
EOF
}

if ! { [ -x .venv/bin/slo-service ] && bootstrap_stamp check; }; then
  extras="${BOOTSTRAP_EXTRAS:+[$BOOTSTRAP_EXTRAS]}"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
  bootstrap_stamp write
fi
unset -f bootstrap_stamp
