#!/usr/bin/env bash
# Makes (or reuses) a virtual environment of a build tree and prints its python on stdout:
#
#   python/venv.sh BUILD_DIR                      BUILD_DIR/venv with Gymnasium 1.x and pytest
#                                                 (the Python tests and benchmarks)
#   python/venv.sh BUILD_DIR NAME REQUIREMENT...  BUILD_DIR/NAME with those requirements (the
#                                                 Schemathesis and openai-SDK tests)
#
# Each venv is made from Debian's /usr/bin/python3 ($TOOLGYM_PYTHON overrides it; for BUILD_DIR/venv
# it must be the interpreter the module is built for), packages from PyPI. A marker file names
# what was installed, so a changed requirement reinstalls; a lock file per venv makes concurrent
# callers (ctest -j) wait for one another instead of racing. Used by python/run_tests.sh, the
# ctest fixture python_venv (python/CMakeLists.txt), tests/server/schemathesis_test.sh and
# tests/agent/openai_sdk_test.sh.
set -euo pipefail

if [[ $# -ne 1 && $# -lt 3 ]]; then
  echo "usage: $0 BUILD_DIR [NAME REQUIREMENT...]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
python=${TOOLGYM_PYTHON:-/usr/bin/python3}
name=venv
requirements='gymnasium>=1.0,<2 pytest>=7'
if [[ $# -ge 3 ]]; then
  name=$2
  shift 2
  requirements="$*"
fi
venv="$build_dir/$name"
marker="$venv/.toolgym-requirements"

exec 9>"$build_dir/.toolgym-$name.lock"
flock 9
if [[ ! -x "$venv/bin/python" ]] || [[ "$(cat "$marker" 2>/dev/null)" != "$requirements" ]]; then
  echo "venv.sh: making $venv ($requirements)" >&2
  "$python" -m venv "$venv"
  # shellcheck disable=SC2086  # word splitting of the requirement list is intended
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $requirements >&2
  echo "$requirements" >"$marker"
fi
echo "$venv/bin/python"
