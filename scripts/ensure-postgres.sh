#!/usr/bin/env bash
# Make a throwaway local PostgreSQL reachable for the integration tests.
#
#   url="$(bash scripts/ensure-postgres.sh | tail -n1)"
#
# Result: a server on 127.0.0.1:5432 that lets user `postgres` in without a
# password (trust, loopback only) and a database `smsrelay_test`. The URL to use
# is printed as the last (and only) line of stdout; all progress goes to stderr.
#
# Idempotent: when the server is already up and reachable this only makes sure
# the database exists (well under a second). Otherwise it installs Debian's
# `postgresql` package if needed (root or passwordless sudo), creates/starts the
# cluster, configures loopback trust auth and test-speed settings
# (fsync/synchronous_commit/full_page_writes off, max_connections=200).
#
# SMSRELAY_PG_STAT_STATEMENTS=1 also loads pg_stat_statements (the benchmarks count
# SQL statements with it). It is read only at server start, so the first such run
# restarts a running server (once: later runs find it loaded and take the fast path;
# runs without the variable keep it). Do not do that while tests use the server.
# THIS IS FOR A DISPOSABLE TEST CLUSTER ONLY: never point it at real data.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
PG_USER=postgres
DB_NAME=smsrelay_test
URL="postgres://${PG_USER}@${PG_HOST}:${PG_PORT}/${DB_NAME}"
READY_TIMEOUT=60
MARK_BEGIN='# BEGIN smsrelay-test: trust loopback (scripts/ensure-postgres.sh)'
MARK_END='# END smsrelay-test'
CONF_NAME='zz-smsrelay-test.conf'
WANT_STAT_STATEMENTS="${SMSRELAY_PG_STAT_STATEMENTS:-0}"

# Keep the real stdout on fd 3 for the URL; everything else goes to stderr.
exec 3>&1 1>&2

log() { printf '[ensure-postgres] %s\n' "$*" >&2; }
DIED=0
die() { printf '[ensure-postgres] ERROR: %s\n' "$*" >&2; DIED=1; exit 1; }
# Unexpected failures (set -e) get a message too.
# shellcheck disable=SC2154  # rc is assigned inside the trap string
trap 'rc=$?; [ "$rc" -eq 0 ] || [ "$DIED" -eq 1 ] || printf "[ensure-postgres] ERROR: unexpected failure (exit %s) running: %s\n" "$rc" "$BASH_COMMAND" >&2' EXIT

export PGCONNECT_TIMEOUT=5

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    die "need root (or passwordless sudo) to run: $*"
  fi
}

# Run a command as the postgres OS user (peer auth over the unix socket).
as_postgres() {
  if [ "$(id -un)" = postgres ]; then
    (cd / && "$@")
  elif [ "$(id -u)" -eq 0 ]; then
    if command -v runuser >/dev/null 2>&1; then
      (cd / && runuser -u postgres -- "$@")
    else
      (cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
    fi
  else
    as_root runuser -u postgres -- "$@"
  fi
}

# Run a command with every file descriptor above 2 closed. pg_ctl leaves the
# server holding all other inherited descriptors; without this the daemon would
# keep our stdout pipe (fd 3) open and `$(ensure-postgres.sh | tail -n1)` would
# never see end-of-file. Used for everything that may start a daemon.
without_extra_fds() {
  (
    for fd in /proc/self/fd/*; do
      fd="${fd##*/}"
      if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec ${fd}>&-" 2>/dev/null || true; fi
    done
    "$@"
  )
}

# psql over TCP as postgres, never prompting for a password.
tcp_psql() {
  psql -X -w -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$@"
}

can_connect() {
  command -v psql >/dev/null 2>&1 || return 1
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 3 || return 1
  fi
  [ "$(tcp_psql -d postgres -Atqc 'select 1' 2>/dev/null)" = 1 ]
}

ensure_database() {
  local exists
  exists="$(tcp_psql -d postgres -Atqc "select 1 from pg_database where datname = '${DB_NAME}'")" \
    || die "cannot query pg_database on ${PG_HOST}:${PG_PORT}"
  if [ "$exists" != 1 ]; then
    log "creating database ${DB_NAME}"
    if ! tcp_psql -d postgres -qc "create database \"${DB_NAME}\""; then
      # A concurrent run may have created it in the meantime.
      exists="$(tcp_psql -d postgres -Atqc "select 1 from pg_database where datname = '${DB_NAME}'")" || true
      [ "$exists" = 1 ] || die "could not create database ${DB_NAME}"
    fi
  fi
  tcp_psql -d "$DB_NAME" -Atqc 'select 1' >/dev/null \
    || die "database ${DB_NAME} exists but cannot connect to it as ${PG_USER}"
}

finish() {
  ensure_database
  log "ready: $URL"
  printf '%s\n' "$URL" >&3
  exit 0
}

server_version() {
  # Highest installed server major version (directory with a postgres binary).
  local d v best=""
  for d in /usr/lib/postgresql/*/bin/postgres; do
    [ -x "$d" ] || continue
    v="${d#/usr/lib/postgresql/}"; v="${v%%/*}"
    if [ -z "$best" ] || [ "$v" -gt "$best" ] 2>/dev/null; then best="$v"; fi
  done
  printf '%s' "$best"
}

apt_install() {
  local attempt
  for attempt in 1 2; do
    log "apt-get install $* (attempt $attempt)"
    if without_extra_fds as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q \
      && without_extra_fds as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
           -o DPkg::Lock::Timeout=300 --no-install-recommends "$@"; then
      return 0
    fi
    [ "$attempt" -eq 2 ] || { log "apt failed; retrying in 10 s"; sleep 10; }
  done
  return 1
}

wait_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT))
  until pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

show_log_tail() {
  local f="/var/log/postgresql/postgresql-${1}-main.log"
  if [ -r "$f" ] || as_root test -r "$f"; then
    log "last lines of $f:"
    as_root tail -n 30 "$f" >&2 || true
  fi
}

stat_statements_loaded() {
  case ",$(tcp_psql -d postgres -Atqc 'show shared_preload_libraries' 2>/dev/null | tr -d ' ')," in
    *,pg_stat_statements,*) return 0 ;;
    *) return 1 ;;
  esac
}

# ---------------------------------------------------------------- fast path
if can_connect; then
  if [ "$WANT_STAT_STATEMENTS" != 1 ] || stat_statements_loaded; then
    log "PostgreSQL already reachable at ${PG_HOST}:${PG_PORT} as ${PG_USER}"
    finish
  fi
  log "PostgreSQL reachable but pg_stat_statements is not loaded: configuring it (restarts the server)"
fi

# ---------------------------------------------------------------- install
ver="$(server_version)"
if [ -z "$ver" ] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
  log "PostgreSQL server not installed; installing Debian's postgresql package"
  apt_install postgresql postgresql-client \
    || die "apt-get could not install postgresql (see apt output above)"
  ver="$(server_version)"
  [ -n "$ver" ] || die "postgresql installed but no server binary found under /usr/lib/postgresql/*/bin"
fi
log "using PostgreSQL major version $ver"

etc="/etc/postgresql/${ver}/main"
if ! as_root test -f "$etc/postgresql.conf"; then
  if as_root test -e "$etc"; then
    die "$etc exists but has no postgresql.conf; remove it (pg_dropcluster $ver main) and rerun"
  fi
  log "creating cluster $ver/main on port $PG_PORT"
  without_extra_fds as_root pg_createcluster --port "$PG_PORT" "$ver" main >&2 \
    || die "pg_createcluster $ver main failed"
fi

# ---------------------------------------------------------------- configure
conf_changed=0
hba_changed=0

# Test-speed settings in conf.d (read at start, so no extra restart on a fresh start).
if ! as_root grep -Eq "^[[:space:]]*include_dir[[:space:]]*=[[:space:]]*'conf\.d'" "$etc/postgresql.conf"; then
  log "adding include_dir = 'conf.d' to $etc/postgresql.conf"
  printf "\ninclude_dir = 'conf.d'\n" | as_root tee -a "$etc/postgresql.conf" >/dev/null
  conf_changed=1
fi
as_root install -d -o postgres -g postgres -m 755 "$etc/conf.d"
want_conf="# Written by scripts/ensure-postgres.sh: throwaway TEST cluster, durability OFF.
listen_addresses = 'localhost'
port = ${PG_PORT}
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
"
# Once asked for, pg_stat_statements stays (a later run without the variable keeps it).
if as_root grep -q pg_stat_statements "$etc/conf.d/$CONF_NAME" 2>/dev/null; then WANT_STAT_STATEMENTS=1; fi
if [ "$WANT_STAT_STATEMENTS" = 1 ]; then
  [ -f "/usr/lib/postgresql/${ver}/lib/pg_stat_statements.so" ] \
    || die "pg_stat_statements is not installed for PostgreSQL ${ver} (/usr/lib/postgresql/${ver}/lib/pg_stat_statements.so)"
  # max: test schemas each get their own entries; the benchmarks' counts must not be evicted.
  want_conf+="shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.max = 10000
"
fi
if [ "$(as_root cat "$etc/conf.d/$CONF_NAME" 2>/dev/null || true)" != "${want_conf%$'\n'}" ]; then
  log "writing $etc/conf.d/$CONF_NAME"
  printf '%s' "$want_conf" | as_root tee "$etc/conf.d/$CONF_NAME" >/dev/null
  as_root chown postgres:postgres "$etc/conf.d/$CONF_NAME"
  as_root chmod 644 "$etc/conf.d/$CONF_NAME"
  conf_changed=1
fi

# Loopback trust, placed before every other rule (first match wins), once.
hba="$etc/pg_hba.conf"
if ! as_root grep -qF "$MARK_BEGIN" "$hba"; then
  log "adding loopback trust rules at the top of $hba"
  tmp="$(mktemp)"
  {
    printf '%s\n' "$MARK_BEGIN"
    printf 'host    all             all             127.0.0.1/32            trust\n'
    printf 'host    all             all             ::1/128                 trust\n'
    printf '%s\n' "$MARK_END"
    as_root cat "$hba"
  } >"$tmp"
  # shellcheck disable=SC2016  # $1/$2 expand in the inner shell
  as_root sh -c 'cat "$1" > "$2"' sh "$tmp" "$hba"   # in place: keeps owner/mode
  rm -f "$tmp"
  hba_changed=1
fi

# ---------------------------------------------------------------- start
as_root install -d -o postgres -g postgres -m 2775 /var/run/postgresql

if as_root pg_ctlcluster "$ver" main status >/dev/null 2>&1; then
  if [ "$conf_changed" -eq 1 ]; then
    log "restarting cluster $ver/main to apply settings"
    without_extra_fds as_root pg_ctlcluster "$ver" main restart >&2 || { show_log_tail "$ver"; die "restart of $ver/main failed"; }
  elif [ "$hba_changed" -eq 1 ]; then
    log "reloading cluster $ver/main"
    without_extra_fds as_root pg_ctlcluster "$ver" main reload >&2 || die "reload of $ver/main failed"
  else
    log "cluster $ver/main already running"
  fi
else
  log "starting cluster $ver/main"
  without_extra_fds as_root pg_ctlcluster "$ver" main start >&2 || { show_log_tail "$ver"; die "could not start cluster $ver/main"; }
fi

log "waiting up to ${READY_TIMEOUT}s for ${PG_HOST}:${PG_PORT}"
wait_ready || { show_log_tail "$ver"; die "PostgreSQL not ready on ${PG_HOST}:${PG_PORT} after ${READY_TIMEOUT}s"; }

# An earlier ALTER SYSTEM (postgresql.auto.conf) would override conf.d: check and fix.
settings="$(as_postgres psql -X -p "$PG_PORT" -Atqc \
  "select string_agg(name || '=' || setting, ',' order by name) from pg_settings
   where name in ('fsync','full_page_writes','max_connections','synchronous_commit')")" \
  || die "cannot connect over the unix socket as the postgres OS user"
want_settings='fsync=off,full_page_writes=off,max_connections=200,synchronous_commit=off'
if [ "$settings" != "$want_settings" ]; then
  log "settings are [$settings], want [$want_settings]: applying with ALTER SYSTEM and restarting"
  as_postgres psql -X -p "$PG_PORT" -v ON_ERROR_STOP=1 -q \
    -c 'alter system set fsync = off' \
    -c 'alter system set synchronous_commit = off' \
    -c 'alter system set full_page_writes = off' \
    -c 'alter system set max_connections = 200' >&2 \
    || die "ALTER SYSTEM failed"
  without_extra_fds as_root pg_ctlcluster "$ver" main restart >&2 || { show_log_tail "$ver"; die "restart of $ver/main failed"; }
  wait_ready || { show_log_tail "$ver"; die "PostgreSQL not ready after restart"; }
fi

can_connect || die "server is up but ${PG_USER} cannot connect to ${PG_HOST}:${PG_PORT} without a password (check $hba)"
finish
