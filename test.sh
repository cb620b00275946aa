#!/usr/bin/env bash
# Installs what the tests need (PostgreSQL server binaries, Debian's Chromium, the .NET tools),
# then builds and runs the whole suite. Set ConnectionStrings__Default to test against a PostgreSQL
# server of your own instead of a throwaway cluster. Extra arguments go to `dotnet test`
# (e.g. ./test.sh --filter "FullyQualifiedName~Integration").
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
cd "$root"
started=$(date +%s)

say() { printf '\n== %s\n' "$*"; }
command -v dotnet >/dev/null 2>&1 || { echo "test.sh: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
  else return 1; fi
}
apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { as_root apt-get update -qq || true; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

if [ -z "${ConnectionStrings__Default:-}" ]; then
  say "PostgreSQL"
  scripts/postgres.sh install
fi

say "S3 server (object storage tests)"
command -v npm >/dev/null 2>&1 || { echo "test.sh: node and npm are required (the object storage tests run s3rver from scripts/s3)" >&2; exit 1; }
(cd scripts/s3 && npm ci --no-audit --no-fund --loglevel=error)

say "Chromium (browser tests)"
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium package…"
  apt_install chromium || { echo "test.sh: cannot install chromium (needs root or password-less sudo); browser tests will fail saying so" >&2; }
fi
/usr/bin/chromium --version 2>/dev/null || true

say "Prometheus (scrapes /metrics in a test)"
if [ ! -x /usr/bin/prometheus ]; then
  echo "installing Debian's prometheus package…"
  apt_install prometheus || { echo "test.sh: cannot install prometheus (needs root or password-less sudo); the scrape test will fail saying so" >&2; }
fi
/usr/bin/prometheus --version 2>/dev/null | head -n 1 || true

say "OpenCV cascades and tesseract (privacy detector and blur tests)"
if [ ! -d /usr/share/opencv4/haarcascades ] || ! command -v tesseract >/dev/null 2>&1; then
  echo "installing Debian's opencv-data and tesseract-ocr…"
  apt_install opencv-data tesseract-ocr || { echo "test.sh: cannot install opencv-data/tesseract-ocr (needs root or password-less sudo); the privacy tests will fail saying so" >&2; }
fi
tesseract --version 2>/dev/null | head -n 1 || true
say "unzip (a second zip reader for the zip64 export test)"
if [ ! -x /usr/bin/unzip ]; then
  echo "installing Debian's unzip package…"
  apt_install unzip || { echo "test.sh: cannot install unzip (needs root or password-less sudo); the zip64 export test will fail saying so" >&2; }
fi

say "Build"
dotnet tool restore >/dev/null
dotnet build VehicleImages.sln -c Release -nologo -v quiet -clp:NoSummary

say "Tests"
rm -rf TestResults
set +e
dotnet test VehicleImages.sln -c Release --no-build -nologo \
  --logger "console;verbosity=normal" --results-directory TestResults "$@" 2>&1 | tee TestResults.log
status=${PIPESTATUS[0]}
set -e
mkdir -p TestResults && mv TestResults.log TestResults/

# VSTest's closing block: "Total tests: N" then "Passed: N", "Failed: N", "Skipped: N" when not zero.
log=TestResults/TestResults.log
total=$(sed -n 's/^Total tests: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
count() { sed -n "s/^ *$1: *\([0-9]*\)\$/\1/p" "$log" | tail -n 1; }
passed=$(count Passed); failed=$(count Failed); skipped=$(count Skipped)
elapsed=$(( $(date +%s) - started ))
say "Summary (${elapsed}s; screenshots in TestResults/artifacts)"
if [ -z "$total" ]; then
  echo "no test summary found: the test run did not complete (exit $status)"
  exit $(( status == 0 ? 1 : status ))
fi
if [ "${failed:-0}" != "0" ]; then
  # Repeat each failure with the first lines of its message: CI keeps only the end of the log.
  echo "-- failures:"
  awk '/^  Failed /{n=14} n>0{print; n--}' "$log" | cut -c1-300
fi
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
exit "$status"
