#!/usr/bin/env bash
# kievideo set-up on Debian 12 (and Ubuntu): one script, two verbs.
#
#   bash scripts/dev.sh demo   installs everything and starts the app in demo mode (no key, no network)
#   bash scripts/dev.sh test   installs everything and runs lint, types and the whole test suite
#
# Both are idempotent: apt skips what is there, the venv is reused. Set KIEVIDEO_VENV to put the
# venv elsewhere, KIEVIDEO_SKIP_APT=1 to skip the apt step (no root needed then).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${KIEVIDEO_VENV:-.venv}
PY=${PYTHON:-python3}

# The libraries Qt needs on a bare Debian 12 (see docs: platform notes): offscreen widgets,
# QtMultimedia's FFmpeg backend (libpulse0 + libxrandr2, without which playback silently has no
# backend), and the xcb platform for a real window. Xvfb/xwd for screenshots, gnome-keyring + dbus
# for the real Secret Service keyring test.
APT_RUNTIME="libegl1 libgl1 libx11-6 libdbus-1-3 libfontconfig1 libfreetype6 libglib2.0-0 libxkbcommon0
  libpulse0 libxrandr2 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0
  libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 python3-venv"
APT_TEST="xvfb x11-apps gnome-keyring dbus dbus-x11 libsecret-tools curl desktop-file-utils appstream"

apt_install() {
  [ "${KIEVIDEO_SKIP_APT:-0}" = 1 ] && return 0
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  # shellcheck disable=SC2086
  if ! dpkg -s $* >/dev/null 2>&1; then
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $* >/dev/null
  fi
}

make_venv() {
  local extra=$1
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  # pip's own failures stop the script (set -e); only its harmless notes about local index
  # folders some machines configure are filtered from stderr.
  "$VENV/bin/python" -m pip install -q --upgrade pip 2> >(grep -v "is ignored" >&2)
  "$VENV/bin/python" -m pip install -q -e ".$extra" 2> >(grep -v "is ignored" >&2)
  "$VENV/bin/python" -c "import kievideo, PySide6.QtMultimedia, qasync, httpx, keyring"
}

case "${1:-}" in
  demo)
    apt_install $APT_RUNTIME
    make_venv ""
    shift
    exec "$VENV/bin/kievideo" --demo "$@"
    ;;
  test)
    apt_install $APT_RUNTIME $APT_TEST
    make_venv "[test]"
    shift
    export QT_QPA_PLATFORM=offscreen
    echo "== ruff"; "$VENV/bin/ruff" check kievideo tests bench
    echo "== mypy (strict, the whole package)"; "$VENV/bin/mypy" kievideo
    echo "== pytest"
    # The real Secret Service keyring test needs a D-Bus session with an unlocked gnome-keyring;
    # scripts/with-keyring.sh provides one and runs pytest inside it.
    exec bash scripts/with-keyring.sh "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
    ;;
  *)
    echo "usage: bash scripts/dev.sh {demo|test} [args...]" >&2
    exit 2
    ;;
esac
