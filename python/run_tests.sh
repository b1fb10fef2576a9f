#!/usr/bin/env bash
# Runs the Python binding's pytest suite against a build tree: python/run_tests.sh BUILD_DIR
# [pytest args...]. Creates (or reuses) BUILD_DIR/venv with python/venv.sh (Debian's
# /usr/bin/python3, the interpreter the module is built for, with Gymnasium 1.x and pytest from
# PyPI). The module must be built first (cmake --build BUILD_DIR --target _toolgym).
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 BUILD_DIR [pytest args...]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
shift
source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if ! compgen -G "$build_dir/python/_toolgym*.so" >/dev/null; then
  echo "no _toolgym module in $build_dir/python: build the _toolgym target first" >&2
  exit 1
fi

venv_python=$("$source_dir/venv.sh" "$build_dir")

cd "$source_dir"
PYTHONPATH="$build_dir/python:$source_dir${PYTHONPATH:+:$PYTHONPATH}" \
  exec "$venv_python" -m pytest -q -p no:cacheprovider "$source_dir/tests" "$@"
