# Shared set-up for scripts/demo, scripts/test and scripts/bench: install missing Debian
# packages from scripts/packages.txt (and, for the tests, scripts/packages-test.txt), then
# configure and build into build/ (ccache when present).
# Sourced, not run.
set -euo pipefail
TOOLGYM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${TOOLGYM_BUILD_DIR:-$TOOLGYM_ROOT/build}"

# toolgym_install_packages [LIST...]: the packages of scripts/packages.txt and of each extra list.
toolgym_install_packages() {
  local wanted missing=() lists=("$TOOLGYM_ROOT/scripts/packages.txt" "$@")
  wanted=$(cat "${lists[@]}" | grep -v '^#' | grep -v '^$')
  for p in $wanted; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "toolgym: installing Debian packages: ${missing[*]}" >&2
    local sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

toolgym_build() {
  local jobs
  jobs=$(nproc)
  if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
    cmake -S "$TOOLGYM_ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  fi
  cmake --build "$BUILD_DIR" -j "$jobs"
}

toolgym_setup() {
  toolgym_install_packages
  toolgym_build "$@"
}
