#!/usr/bin/env bash
# Runs the benchmark program: every figure beside a reference measured in the same run.
#   ./bench.sh              every figure in `all` (10 minutes or more on 2 cores)
#   ./bench.sh NAME         one figure
#   ./bench.sh --list       the figures, what each measures and its target (the list lives in the program:
#                           VehicleImages.Benchmarks/FigureRegistry.cs)
# Installs what the chosen figures need, as the program says (--needs NAME): vipsthumbnail (libvips-tools), zip,
# s3rver (npm, scripts/s3), chromium; PostgreSQL server binaries unless ConnectionStrings__Default is set.
# Each row is printed as soon as its figure finishes, as a tab-separated line for scripts
# (result, figure, row, measured, reference, ratio, target, met), and all rows as a markdown table at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
cd "$root"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
  else return 1; fi
}
apt_install() { # package, why
  echo "installing Debian's $1 ($2)…"
  as_root apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$1" >/dev/null \
    || { echo "bench.sh: cannot install $1; $2" >&2; exit 1; }
}

# The build talks on stderr, so that stdout is only the program's (the list, the result lines).
dotnet build VehicleImages.Benchmarks/VehicleImages.Benchmarks.csproj -c Release -nologo -v quiet -clp:NoSummary >&2
bench=(dotnet VehicleImages.Benchmarks/bin/Release/net10.0/VehicleImages.Benchmarks.dll)
figure=${1:-all}
case "$figure" in --list|--needs) exec "${bench[@]}" "$@" ;; esac
# An unknown name exits 2 here, with the list.
needs=" $("${bench[@]}" --needs "$figure" | tr '\n' ' ') " || exit $?

case "$needs" in *" vipsthumbnail "*)
  command -v vipsthumbnail >/dev/null 2>&1 || apt_install libvips-tools "the ingest references need vipsthumbnail" ;;
esac
case "$needs" in *" zip "*)
  command -v zip >/dev/null 2>&1 || apt_install zip "the export figure's reference is zip -0"
  command -v unzip >/dev/null 2>&1 || apt_install unzip "the zip64 export figure reads its zip back with unzip -t" ;;
esac
case "$needs" in *" s3rver "*) (cd scripts/s3 && npm ci --no-audit --no-fund --loglevel=error) ;; esac
case "$needs" in *" chromium "*)
  [ -x /usr/bin/chromium ] || apt_install chromium "the browser figures need /usr/bin/chromium" ;;
esac
# pg_stat_statements ships with the PostgreSQL server package; the program preloads it in its own cluster.
[ -n "${ConnectionStrings__Default:-}" ] || scripts/postgres.sh install

exec "${bench[@]}" "$figure"
