#!/usr/bin/env bash
# Build the one-folder PyInstaller bundle (dist/kievideo/) and smoke-start it.
#
#   bash scripts/build-bundle.sh               # build, check, smoke-start offscreen
#   bash scripts/build-bundle.sh --no-build    # only check + smoke-start an existing dist/kievideo
#   bash scripts/build-bundle.sh --no-smoke    # build + check only
#
# KIEVIDEO_VENV picks the venv (default .venv; it must have the project installed, e.g. by
# `bash scripts/dev.sh test`). PyInstaller is installed into it if missing: it is the `package`
# extra, never a runtime dependency. build/ and dist/ are gitignored.
#
# The smoke start runs `dist/kievideo/kievideo --smoke-test --data-dir <tmp>` offscreen: it opens
# the main window, plays a real H.264 clip to the end through the bundled FFmpeg backend and exits 0.
# Then `kievideo-cli --demo generate ... --wait` runs one task through the bundled simulator and
# downloads it. Any failure (build, static check, smoke, CLI) makes this script exit non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${KIEVIDEO_VENV:-.venv}
PY=$VENV/bin/python
build=1
smoke=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --no-smoke) smoke=0 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-bundle.sh: unknown option: $arg" >&2; exit 2 ;;
  esac
done

if [ ! -x "$PY" ]; then
  echo "build-bundle.sh: no Python at $PY (create the venv with: bash scripts/dev.sh test)" >&2
  exit 2
fi

if [ "$build" = 1 ]; then
  if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
    echo "== installing pyinstaller into $VENV"
    "$PY" -m pip install -q "pyinstaller>=6" 2>&1 | grep -v "is ignored" || true
    "$PY" -c "import PyInstaller" # fail here, clearly, if the install did not work
  fi
  echo "== pyinstaller $("$PY" -m PyInstaller --version) (packaging/kievideo.spec)"
  t0=$(date +%s)
  "$PY" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build packaging/kievideo.spec
  echo "== built in $(( $(date +%s) - t0 )) s"
fi

if [ ! -x dist/kievideo/kievideo ] && [ ! -x dist/kievideo/kievideo.exe ]; then
  echo "build-bundle.sh: dist/kievideo/kievideo is missing" >&2
  exit 1
fi
echo "== bundle size: $(du -sh dist/kievideo | cut -f1) (dist/kievideo, $(find dist/kievideo -type f | wc -l) files)"

echo "== static checks"
"$PY" packaging/check_bundle.py dist/kievideo

if [ "$smoke" = 1 ]; then
  echo "== smoke start (offscreen)"
  data=$(mktemp -d)
  trap 'rm -rf "$data"' EXIT
  dist/kievideo/kievideo --version
  dist/kievideo/kievideo-cli --help >/dev/null
  # No QT_LOGGING_RULES of our own: the app quiets Qt Multimedia's harmless notes itself
  # (kievideo.app.QUIET_QT_LOGGING), and the smoke test should see what a user's terminal sees.
  t0=$(date +%s%N)
  if ! QT_QPA_PLATFORM=offscreen timeout 180 dist/kievideo/kievideo --smoke-test --data-dir "$data"; then
    echo "build-bundle.sh: the bundle's smoke test FAILED (log: $data/logs/kievideo.log)" >&2
    [ -f "$data/logs/kievideo.log" ] && tail -n 40 "$data/logs/kievideo.log" >&2
    exit 1
  fi
  echo "== smoke test passed in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

  # The frozen CLI end to end: the embedded simulator (uvicorn on loopback), a paid-path generate,
  # polling and the download, all inside the bundle.
  echo "== CLI demo round trip"
  if ! timeout 120 dist/kievideo/kievideo-cli --demo --data-dir "$data/cli" generate --provider veo \
      --model veo3_fast --prompt "bundle check" --wait --out "$data/cli-out" >"$data/cli.txt" 2>&1 \
      || ! ls "$data"/cli-out/*.mp4 >/dev/null 2>&1; then
    echo "build-bundle.sh: the bundled CLI demo round trip FAILED" >&2
    tail -n 20 "$data/cli.txt" >&2
    exit 1
  fi
  echo "== CLI demo round trip passed: $(basename "$(ls "$data"/cli-out/*.mp4)")"
fi
