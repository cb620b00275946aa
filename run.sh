#!/usr/bin/env bash
# Runs VehicleImages on http://localhost:5080 (override with ASPNETCORE_URLS or --urls).
# Without ConnectionStrings__Default it starts a private PostgreSQL cluster under .data/postgres.
# Arguments go to the app, e.g. ./run.sh --migrate-only, ./run.sh --urls http://0.0.0.0:8080
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
cd "$root"

command -v dotnet >/dev/null 2>&1 || { echo "run.sh: the .NET 10 SDK (dotnet) is required: https://dot.net" >&2; exit 1; }

if [ -z "${ConnectionStrings__Default:-}" ]; then
  ConnectionStrings__Default=$(scripts/postgres.sh start "$root/.data/postgres" vehicleimages)
  export ConnectionStrings__Default
  db_where="private PostgreSQL cluster in $root/.data/postgres (port $(sed -n 's/.*Port=\([0-9]*\).*/\1/p' <<<"$ConnectionStrings__Default"))"
else
  db_where="the database in ConnectionStrings__Default"
fi
export Storage__Root="${Storage__Root:-$root/.data/images}"

# The certificate that encrypts the Data Protection keys stored in the database (login cookies).
if [ -z "${DataProtection__CertificatePath:-}" ]; then
  cert="$root/.data/data-protection.pem"
  if [ ! -f "$cert" ]; then
    if command -v openssl >/dev/null 2>&1; then
      mkdir -p "$root/.data"
      (umask 077; openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=VehicleImages Data Protection" \
        -keyout "$cert.key" -out "$cert.crt" >/dev/null 2>&1 && cat "$cert.crt" "$cert.key" > "$cert" && rm -f "$cert.crt" "$cert.key")
    else
      # The app refuses to start outside Development without a certificate, naming DataProtection__CertificatePath.
      echo "run.sh: openssl not found, so no Data Protection certificate could be made: install openssl or set DataProtection__CertificatePath" >&2
    fi
  fi
  if [ -f "$cert" ]; then export DataProtection__CertificatePath="$cert"; fi
fi
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Production}"

# The local plate and face detector's Haar cascades (Debian's opencv-data); without them the detector is off and says so.
if [ "${Privacy__LocalDetector:-true}" != "false" ] && [ -z "${Privacy__CascadeFolder:-}" ] && [ ! -d /usr/share/opencv4/haarcascades ]; then
  as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
    else return 1; fi
  }
  echo "installing Debian's opencv-data (the plate and face detector's cascades)…"
  { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq opencv-data >/dev/null; } \
    || echo "run.sh: cannot install opencv-data (needs root or password-less sudo); the local plate detector stays off" >&2
fi

url="${ASPNETCORE_URLS:-http://localhost:5080}"
for ((i = 1; i <= $#; i++)); do
  if [ "${!i}" = "--urls" ]; then j=$((i + 1)); url="${!j}"; fi
done

echo "Building VehicleImages…"
dotnet build "$root/VehicleImages.Web/VehicleImages.Web.csproj" -c Release -nologo -v quiet -clp:NoSummary >&2
cat <<INFO
VehicleImages
  app:      $url
  database: $db_where
  photos:   $Storage__Root
  reset:    stop the app, then rm -rf $root/.data
INFO
cd "$root/VehicleImages.Web"
exec dotnet "bin/Release/net10.0/VehicleImages.Web.dll" "$@"
