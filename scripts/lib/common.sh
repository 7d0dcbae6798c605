# Shared by scripts/dev, scripts/test and scripts/bench: install what is missing, and start
# private PostgreSQL and Redis servers on loopback. Source it; do not run it.

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ensure_packages PKG... — installs the Debian packages that are not installed yet.
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_axe — fetches axe-core (the accessibility rules the browser tests run on every page)
# from the npm registry once, checks its digest, and prints the path of axe.min.js.
AXE_VERSION="4.14.1"
AXE_SHA1="14d8a6f3f085afd126b8b5ca1e42e50e17fb1d99"
ensure_axe() {
  local dir="$ROOT/.data/tools/axe-core-$AXE_VERSION"
  if [ ! -f "$dir/axe.min.js" ]; then
    log "fetching axe-core $AXE_VERSION from the npm registry"
    mkdir -p "$dir"
    local tarball="$dir/axe-core.tgz"
    curl -fsSL --retry 3 -o "$tarball" "https://registry.npmjs.org/axe-core/-/axe-core-$AXE_VERSION.tgz"
    echo "$AXE_SHA1  $tarball" | sha1sum -c --quiet - || die "axe-core $AXE_VERSION: digest mismatch"
    tar -xzf "$tarball" -C "$dir" --strip-components=1 package/axe.min.js
    rm -f "$tarball"
  fi
  echo "$dir/axe.min.js"
}

# The unprivileged user PostgreSQL runs as (it refuses to run as root).
pg_user() {
  if [ "$(id -u)" -ne 0 ]; then id -un; return; fi
  if id postgres >/dev/null 2>&1; then echo postgres; return; fi
  useradd --system --no-create-home --shell /usr/sbin/nologin schoolplein-pg 2>/dev/null || true
  echo schoolplein-pg
}

# as_pg_user CMD... — runs a command as the PostgreSQL user.
as_pg_user() {
  local user; user="$(pg_user)"
  if [ "$(id -un)" = "$user" ]; then "$@"; else runuser -u "$user" -- "$@"; fi
}

# free_port — prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_postgres DIR PORT [extra postgres -c options...] — initialises DIR once, then starts
# PostgreSQL on 127.0.0.1:PORT with its socket in DIR. Reuses a server already running there.
start_postgres() {
  local dir="$1" port="$2"; shift 2
  local user; user="$(pg_user)"
  mkdir -p "$dir"
  chown "$user" "$dir" 2>/dev/null || true
  chmod 700 "$dir"
  as_pg_user test -w "$dir" || die "$dir is not reachable by the $user user; keep the checkout in a directory others may enter"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "initialising PostgreSQL in $dir"
    as_pg_user "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if as_pg_user "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    return 0
  fi
  local opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300"
  for o in "$@"; do opts="$opts -c $o"; done
  as_pg_user "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "$opts" -w -t 60 start >/dev/null \
    || { tail -20 "$dir/postgres.log" >&2; die "PostgreSQL did not start"; }
}

stop_postgres() {
  local dir="$1"
  [ -f "$dir/data/PG_VERSION" ] || return 0
  as_pg_user "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# start_redis DIR PORT [persist] — starts a private Redis on 127.0.0.1:PORT.
start_redis() {
  local dir="$1" port="$2" persist="${3:-no}"
  mkdir -p "$dir"
  if redis-cli -p "$port" ping >/dev/null 2>&1; then return 0; fi
  local save=(--save '' --appendonly no)
  [ "$persist" = yes ] && save=(--save '60 1' --appendonly no --dbfilename dump.rdb)
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" "${save[@]}" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
  for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
  die "Redis did not start (see $dir/redis.log)"
}

stop_redis() {
  local port="$1"
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
}

# ensure_database PORT NAME — creates the database unless it exists.
ensure_database() {
  local port="$1" name="$2"
  if ! psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE \"$name\"" >/dev/null
  fi
}
