#!/usr/bin/env bash
# Runs the Python binding's pytest suite against a build tree: python/run_tests.sh BUILD_DIR
# [pytest args...]. Creates (or reuses) BUILD_DIR/venv from Debian's /usr/bin/python3 (the
# interpreter the module is built for) and installs Gymnasium 1.x and pytest there from PyPI.
# The module must be built first (cmake --build BUILD_DIR --target _toolgym).
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 BUILD_DIR [pytest args...]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
shift
source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=${TOOLGYM_PYTHON:-/usr/bin/python3}
venv="$build_dir/venv"

if ! compgen -G "$build_dir/python/_toolgym*.so" >/dev/null; then
  echo "no _toolgym module in $build_dir/python: build the _toolgym target first" >&2
  exit 1
fi

# The marker names what was installed, so a changed requirement reinstalls.
requirements='gymnasium>=1.0,<2 pytest>=7'
marker="$venv/.toolgym-requirements"
if [[ ! -x "$venv/bin/python" ]] || [[ "$(cat "$marker" 2>/dev/null)" != "$requirements" ]]; then
  "$python" -m venv "$venv"
  # shellcheck disable=SC2086  # word splitting of the requirement list is intended
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $requirements
  echo "$requirements" >"$marker"
fi

cd "$source_dir"
PYTHONPATH="$build_dir/python:$source_dir${PYTHONPATH:+:$PYTHONPATH}" \
  exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$source_dir/tests" "$@"
