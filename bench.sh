#!/usr/bin/env bash
# Runs the benchmark program: every figure beside a reference measured in the same run.
# Installs what it needs (libvips-tools for the vipsthumbnail reference, PostgreSQL server binaries).
# ./bench.sh [all|ingest|storage|queue|queue-profile|queue-settings|telemetry|latency|rate|outage|gallery|decode|tus|tus-browser|live|circuits]
# tus-browser (not in all) drives /usr/bin/chromium; BENCH_TUS_BROWSER_FILES=N picks N files instead of 500.
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
cd "$root"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
  else return 1; fi
}
if ! command -v vipsthumbnail >/dev/null 2>&1; then
  echo "installing libvips-tools (vipsthumbnail, the ingest reference)…"
  as_root apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq libvips-tools >/dev/null \
    || { echo "bench.sh: cannot install libvips-tools; the ingest figure needs vipsthumbnail" >&2; exit 1; }
fi
[ -n "${ConnectionStrings__Default:-}" ] || scripts/postgres.sh install
# The storage figure runs s3rver (npm) as its S3-compatible server.
case "${1:-all}" in all|storage) (cd scripts/s3 && npm ci --no-audit --no-fund --loglevel=error) ;; esac
# The live, circuits and tus-browser figures drive Debian's Chromium through Playwright.
case "${1:-all}" in all|live|circuits|tus-browser)
  if [ ! -x /usr/bin/chromium ]; then
    echo "installing Debian's chromium package (the live figures open galleries in it)…"
    as_root apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null \
      || { echo "bench.sh: cannot install chromium; the live, circuits and tus-browser figures need /usr/bin/chromium" >&2; exit 1; }
  fi ;;
esac

dotnet build VehicleImages.Benchmarks/VehicleImages.Benchmarks.csproj -c Release -nologo -v quiet -clp:NoSummary
exec dotnet VehicleImages.Benchmarks/bin/Release/net10.0/VehicleImages.Benchmarks.dll "${1:-all}"
