#!/usr/bin/env bash
# Run a command inside a private D-Bus session with an unlocked gnome-keyring (the real Secret
# Service backend), so one test can exercise the real OS keyring headless. Falls back to running
# the command as is (the real-keyring test then skips) when dbus-run-session or gnome-keyring is
# missing.
set -euo pipefail
if ! command -v dbus-run-session >/dev/null || ! command -v gnome-keyring-daemon >/dev/null; then
  exec "$@"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p -m 700 "$tmp/run" "$tmp/home"
export KIEVIDEO_KEYRING_HOME="$tmp/home"
# The inner shell unlocks (and so creates) a throwaway "login" keyring, then runs the command.
HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" dbus-run-session -- bash -c '
  eval "$(printf "%s" "kievideo-test" | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
  export KIEVIDEO_REAL_KEYRING=1
  exec "$@"' _ "$@" 2> >(grep -v "Failed to set fd limit" >&2)
