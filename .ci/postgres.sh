# Sourced by .ci/run: a throwaway PostgreSQL cluster on a loopback port for the test suite.
# Installs Debian's postgresql when absent, initialises a cluster in a temporary directory,
# starts it on 127.0.0.1, exports LEDGER_TEST_POSTGRES, and defines pg_down to stop it.

pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

if [ -z "$(pg_bin)" ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

PG_BIN="$(pg_bin)"
PG_DIR="$(mktemp -d /tmp/ledger-pg.XXXXXX)"
PG_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

as_pg() {
    # initdb refuses to run as root: use the postgres account the package created.
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "$(id -u)" -eq 0 ]; then chown postgres "$PG_DIR"; fi
as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U ledger --auth=trust -E UTF8 >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off" start >/dev/null
export LEDGER_TEST_POSTGRES="postgresql://ledger@127.0.0.1:$PG_PORT/postgres"
echo "PostgreSQL test cluster on 127.0.0.1:$PG_PORT"

pg_down() {
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
}
