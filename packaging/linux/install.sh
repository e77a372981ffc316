#!/usr/bin/env bash
# Install (or remove) kievideo's desktop integration: the .desktop entry, the AppStream metainfo and
# the hicolor icons, so the app shows up in the desktop's launcher with its icon.
#
#   bash packaging/linux/install.sh                  # per user: ~/.local/share (XDG_DATA_HOME)
#   bash packaging/linux/install.sh --system         # for everyone: $PREFIX/share (PREFIX=/usr/local)
#   bash packaging/linux/install.sh --uninstall [--system]
#   bash packaging/linux/install.sh --exec /opt/kievideo/kievideo   # point the launcher at a bundle
#
# It installs no program: `kievideo` must be on PATH (pip/pipx install) or be given with --exec
# (the PyInstaller bundle's dist/kievideo/kievideo). DESTDIR is honoured for packagers.
set -euo pipefail

APP_ID=io.github.kievideo.KieVideo
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ICON_SRC=$ROOT/resources/app
SIZES="16 24 32 48 64 128 256 512"

mode=install
scope=user
exec_path=""
while [ $# -gt 0 ]; do
  case "$1" in
    --system) scope=system ;;
    --uninstall) mode=uninstall ;;
    --exec) exec_path=${2:?--exec needs a path}; shift ;;
    --exec=*) exec_path=${1#--exec=} ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$scope" = system ]; then
  share=${PREFIX:-/usr/local}/share
else
  share=${XDG_DATA_HOME:-$HOME/.local/share}
fi
dest=${DESTDIR:-}$share
apps=$dest/applications
meta=$dest/metainfo
icons=$dest/icons/hicolor

refresh() {
  # Both tools are optional; desktops rescan on their own sooner or later.
  if [ -z "${DESTDIR:-}" ]; then
    if command -v update-desktop-database >/dev/null 2>&1; then
      update-desktop-database -q "$apps" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$icons/index.theme" ]; then
      gtk-update-icon-cache -q -t -f "$icons" 2>/dev/null || true
    fi
  fi
}

if [ "$mode" = uninstall ]; then
  rm -f "$apps/$APP_ID.desktop" "$meta/$APP_ID.metainfo.xml" "$icons/scalable/apps/$APP_ID.svg"
  for n in $SIZES; do rm -f "$icons/${n}x${n}/apps/$APP_ID.png"; done
  refresh
  echo "removed kievideo's desktop entry, metainfo and icons from $dest"
  exit 0
fi

install -d "$apps" "$meta" "$icons/scalable/apps"
if [ -n "$exec_path" ]; then
  exec_abs=$(cd "$(dirname "$exec_path")" && pwd)/$(basename "$exec_path")
  [ -x "$exec_abs" ] || { echo "install.sh: not an executable: $exec_abs" >&2; exit 1; }
  # Desktop-entry Exec quoting: wrap in double quotes; \ " ` $ get a backslash that is itself
  # string-escaped (so two), and % doubles.
  quoted=$(printf '%s' "$exec_abs" | sed -e 's/[\\"`$]/\\\\&/g' -e 's/%/%%/g')
  while IFS= read -r line; do
    case "$line" in
      Exec=kievideo*) printf 'Exec="%s"%s\n' "$quoted" "${line#Exec=kievideo}" ;;
      TryExec=kievideo) printf 'TryExec=%s\n' "$exec_abs" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done <"$HERE/$APP_ID.desktop" >"$apps/$APP_ID.desktop"
  chmod 644 "$apps/$APP_ID.desktop"
else
  install -m 644 "$HERE/$APP_ID.desktop" "$apps/$APP_ID.desktop"
fi
install -m 644 "$HERE/$APP_ID.metainfo.xml" "$meta/$APP_ID.metainfo.xml"
install -m 644 "$ICON_SRC/kievideo.svg" "$icons/scalable/apps/$APP_ID.svg"
for n in $SIZES; do
  install -d "$icons/${n}x${n}/apps"
  install -m 644 "$ICON_SRC/png/kievideo-$n.png" "$icons/${n}x${n}/apps/$APP_ID.png"
done
refresh
echo "installed kievideo's desktop entry, metainfo and icons into $dest"
if [ -z "$exec_path" ] && ! command -v kievideo >/dev/null 2>&1; then
  echo "note: 'kievideo' is not on PATH; install it (pipx install .) or re-run with --exec PATH" >&2
fi
