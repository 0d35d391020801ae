# The official image's contract, as far as compose uses it: on an empty data
# directory create the cluster with POSTGRES_USER (default postgres) as superuser
# and POSTGRES_PASSWORD, create POSTGRES_DB (default: the user's name), accept
# password logins from other containers; then run postgres as the postgres user.
set -eu
if [ "${1:-}" != postgres ]; then
    exec "$@"
fi
shift
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
as_postgres="setpriv --reuid=postgres --regid=postgres --init-groups"
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    chown postgres "$pwfile"
    $as_postgres initdb -D "$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
        # Single-user mode: no server is listening yet, so pg_isready cannot
        # report ready before the database exists.
        echo "CREATE DATABASE \"$POSTGRES_DB\";" | $as_postgres postgres --single -D "$PGDATA" postgres >/dev/null
    fi
    echo "stand-in postgres: initialised $PGDATA with database $POSTGRES_DB"
fi
exec $as_postgres postgres -D "$PGDATA" "$@"
