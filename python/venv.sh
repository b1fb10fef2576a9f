#!/usr/bin/env bash
# Makes (or reuses) the virtual environment of a build tree's Python tests and benchmarks:
# python/venv.sh BUILD_DIR prints the path of BUILD_DIR/venv/bin/python on stdout. The venv is
# made from Debian's /usr/bin/python3 ($TOOLGYM_PYTHON overrides it; it must be the interpreter
# the module is built for) with Gymnasium 1.x and pytest from PyPI. A marker file names what was
# installed, so a changed requirement reinstalls; a lock file makes concurrent callers (ctest -j
# running python_tests and python_bench_smoke) wait for one another instead of racing. Used by
# python/run_tests.sh and by the ctest fixture python_venv (python/CMakeLists.txt).
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
python=${TOOLGYM_PYTHON:-/usr/bin/python3}
venv="$build_dir/venv"
requirements='gymnasium>=1.0,<2 pytest>=7'
marker="$venv/.toolgym-requirements"

exec 9>"$build_dir/.toolgym-venv.lock"
flock 9
if [[ ! -x "$venv/bin/python" ]] || [[ "$(cat "$marker" 2>/dev/null)" != "$requirements" ]]; then
  echo "venv.sh: making $venv ($requirements)" >&2
  "$python" -m venv "$venv"
  # shellcheck disable=SC2086  # word splitting of the requirement list is intended
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $requirements >&2
  echo "$requirements" >"$marker"
fi
echo "$venv/bin/python"
