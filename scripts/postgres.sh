#!/usr/bin/env bash
# A private PostgreSQL cluster for run.sh and the tests: loopback only, its own port, password auth.
#
#   scripts/postgres.sh start DATA_DIR [DATABASE]  initdb once, start if not running, create DATABASE
#                                                  (default vehicleimages) owned by the role
#                                                  'vehicleimages' (not a superuser) and print that
#                                                  role's connection string. DATABASE 'postgres' prints
#                                                  the superuser's, for rigs that create databases.
#   scripts/postgres.sh stop DATA_DIR              fast shutdown
#   scripts/postgres.sh install                    only make sure the server binaries are there
#
# Messages go to stderr; stdout carries only the connection string.
set -euo pipefail

say() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

find_bin_dir() {
  local d
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"; return 0
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}

ensure_binaries() {
  if BIN=$(find_bin_dir); then return 0; fi
  say "PostgreSQL server binaries (initdb, pg_ctl) not found; installing Debian's postgresql package"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"
    else die "cannot install PostgreSQL: not root and no password-less sudo. Install the 'postgresql' package, or set ConnectionStrings__Default to a database of your own."; fi
  fi
  command -v apt-get >/dev/null 2>&1 || die "cannot install PostgreSQL: no apt-get on this machine. Install PostgreSQL server binaries, or set ConnectionStrings__Default."
  $sudo apt-get update -qq >&2 || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2 \
    || die "apt-get install postgresql failed (see above)."
  BIN=$(find_bin_dir) || die "postgresql was installed but initdb is still not found under /usr/lib/postgresql/*/bin."
}

# initdb refuses to run as root: run the server as the 'postgres' user, or as ourselves otherwise.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Ports 30000-32767: below Linux's ephemeral range (32768-60999 by default), so no client socket of the machine (the
# tests open thousands) holds the port when the server binds it, on its first start or when a test restarts it.
# From a random place in the range: two clusters created at once (test classes run in parallel) both
# saw the first free port free, and the one that bound it second failed to start (a fresh cluster then
# takes another port, below).
port_low=30000 port_count=2768
free_port() {
  local p i first=$(( RANDOM % port_count ))
  for i in $(seq 0 $(( port_count - 1 ))); do
    p=$(( port_low + (first + i) % port_count ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  die "no free TCP port between $port_low and $(( port_low + port_count - 1 )) on 127.0.0.1"
}

if [ "${1:-}" = "install" ]; then ensure_binaries; say "PostgreSQL server binaries: $BIN"; exit 0; fi

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: $0 start|stop DATA_DIR [DATABASE]"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pwfile="$dir.password"

case "$cmd" in
  start)
    database=${3:-vehicleimages}
    ensure_binaries
    if [ ! -f "$dir/PG_VERSION" ]; then
      say "creating a PostgreSQL cluster in $dir"
      umask 077
      [ -f "$pwfile" ] || head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$pwfile"
      if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
        chown postgres "$dir"
        tmp_pw=$(mktemp); cp "$pwfile" "$tmp_pw"; chown postgres "$tmp_pw"
      else
        tmp_pw="$pwfile"
      fi
      as_owner "$BIN/initdb" -D "$dir" -U postgres --pwfile="$tmp_pw" --auth=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null 2>"$dir.initdb.log" \
        || { cat "$dir.initdb.log" >&2; die "initdb failed"; }
      [ "$tmp_pw" = "$pwfile" ] || rm -f "$tmp_pw"
      rm -f "$dir.initdb.log"
      port=$(free_port)
      created=1
      cat >> "$dir/postgresql.conf" <<CONF
# written by scripts/postgres.sh
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_connections = 500
fsync = ${PG_FSYNC:-on}
CONF
      # PG_PRELOAD (e.g. pg_stat_statements, which the benchmark's queue profile reads): loaded when present.
      if [ -n "${PG_PRELOAD:-}" ] && [ -f "$BIN/../lib/$PG_PRELOAD.so" ]; then
        echo "shared_preload_libraries = '$PG_PRELOAD'" >> "$dir/postgresql.conf"
      fi
    fi
    port=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$dir/postgresql.conf" | tail -n 1)
    [ -n "$port" ] || die "cannot read the port from $dir/postgresql.conf"
    if ! as_owner "$BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      tries=0
      until as_owner "$BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null; do
        tries=$((tries + 1))
        # A cluster made just now whose port another process bound first: it takes another free port. A cluster that
        # existed keeps its port (whoever restarts it expects it there) and fails, saying why.
        if [ -n "${created:-}" ] && [ "$tries" -lt 5 ] && grep -q "Address already in use" "$dir/server.log" 2>/dev/null; then
          port=$(free_port)
          sed -i "s/^port = [0-9]*\$/port = $port/" "$dir/postgresql.conf"
          say "port taken meanwhile; trying port $port"
          continue
        fi
        tail -n 20 "$dir/server.log" >&2 2>/dev/null; die "PostgreSQL did not start (log: $dir/server.log)"
      done
    fi
    password=$(cat "$pwfile")
    export PGPASSWORD="$password"
    psql_bin="$BIN/psql"; [ -x "$psql_bin" ] || psql_bin=psql
    if [ "$database" = postgres ]; then
      echo "Host=127.0.0.1;Port=$port;Database=postgres;Username=postgres;Password=$password"
      exit 0
    fi
    # The app's own role: it owns its database and schema, and nothing else (least privilege).
    app_role=vehicleimages
    app_pwfile="$dir.app-password"
    [ -f "$app_pwfile" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$app_pwfile")
    app_password=$(cat "$app_pwfile")
    q() { "$psql_bin" -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 "$@"; }
    q -d postgres -qtA >&2 <<SQL
SELECT 'CREATE ROLE $app_role LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$app_role')\\gexec
ALTER ROLE $app_role PASSWORD '$app_password';
SQL
    if ! q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
      q -d postgres -qc "CREATE DATABASE \"$database\" OWNER $app_role" >&2
    elif [ "$(q -d postgres -tAc "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$database'")" != "$app_role" ]; then
      # A cluster made before the app had its own role: hand the database and its tables over.
      say "handing database $database over to the role $app_role"
      q -d postgres -qc "ALTER DATABASE \"$database\" OWNER TO $app_role" >&2
      q -d "$database" -q >&2 <<SQL
DO \$\$ DECLARE r record; BEGIN
  -- Tables first (their owned sequences follow them), then what is left.
  FOR r IN SELECT format('ALTER %s %I.%I OWNER TO $app_role',
                         CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END,
                         n.nspname, c.relname) AS stmt
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v')
  LOOP EXECUTE r.stmt; END LOOP;
  FOR r IN SELECT format('ALTER SEQUENCE %I.%I OWNER TO $app_role', n.nspname, c.relname) AS stmt
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'S' AND pg_get_userbyid(c.relowner) <> '$app_role'
  LOOP EXECUTE r.stmt; END LOOP;
  FOR r IN SELECT format('ALTER FUNCTION %s OWNER TO $app_role', p.oid::regprocedure) AS stmt
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
  LOOP EXECUTE r.stmt; END LOOP;
END \$\$;
SQL
    fi
    echo "Host=127.0.0.1;Port=$port;Database=$database;Username=$app_role;Password=$app_password"
    ;;
  stop)
    BIN=$(find_bin_dir) || exit 0
    [ -f "$dir/PG_VERSION" ] || exit 0
    as_owner "$BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *) die "unknown command '$cmd' (start or stop)" ;;
esac
