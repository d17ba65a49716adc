# Sourced by scripts/shim and scripts/test: finds Python 3.12+ and keeps .venv in step with
# pyproject.toml, so both commands work on a fresh clone and stay fast afterwards.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

find_python() {
  local candidates=("${CODEX_SHIM_PYTHON:-}" python3.12 python3.13 python3.14 python3)
  local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
  for dir in "$pyenv_root"/versions/3.1[2-9]*; do
    [ -x "$dir/bin/python3" ] && candidates+=("$dir/bin/python3")
  done
  for py in "${candidates[@]}"; do
    [ -n "$py" ] || continue
    command -v "$py" >/dev/null 2>&1 || continue
    if "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      echo "$py"
      return 0
    fi
  done
  return 1
}

ensure_venv() {
  local stamp="$VENV/.codex-shim-stamp"
  local want
  want="$(cat "$ROOT/pyproject.toml" | cksum)"
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    local py
    py="$(find_python)" || {
      echo "codex-shim: Python 3.12 or newer not found; install python3.12 (e.g. 'apt install python3.12-venv', 'brew install python@3.12' or 'pyenv install 3.12') or set CODEX_SHIM_PYTHON." >&2
      exit 1
    }
    echo "codex-shim: creating $VENV with $py" >&2
    "$py" -m venv "$VENV" || { echo "codex-shim: could not create $VENV (is the venv module installed?)" >&2; exit 1; }
  fi
  echo "codex-shim: installing the project into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[test]" >&2 || {
    echo "codex-shim: pip install failed (see above)" >&2
    exit 1
  }
  echo "$want" > "$stamp"
}
