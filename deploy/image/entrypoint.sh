#!/bin/bash
# The one entry point of the downstack/server image: `downstack ROLE [ARGS...]`.
#   web        migrate, collect static files, then serve with gunicorn on :8000
#   worker     a Celery grading worker (starts sandboxes on the engine behind DOCKER_HOST)
#   beat       the Celery beat that runs the reaper every GRADING_REAP_INTERVAL_S
#   postgres   PostgreSQL 15 on /var/lib/postgresql/data (initialised on first start)
#   redis      Redis on /var/lib/redis (append-only file), password REDIS_PASSWORD
#   manage     any manage.py command, e.g. `downstack manage createsuperuser`
# The roles run as unprivileged users; each one replaces this script (exec), so the
# container's stop signal reaches the server itself.
set -euo pipefail

run_as() { setpriv --reuid="$1" --regid="$1" --init-groups "${@:2}"; }
as() { exec setpriv --reuid="$1" --regid="$1" --init-groups "${@:2}"; }
# A worker needs the group of the Docker socket it was given, whatever its number.
as_worker() {
    local groups=downstack
    if [ -S /var/run/docker.sock ]; then groups=downstack,$(stat -c %g /var/run/docker.sock); fi
    exec setpriv --reuid=downstack --regid=downstack --groups="$groups" "$@"
}

role=${1:-}
[ $# -gt 0 ] && shift
case "$role" in
web)
    run_as downstack python /app/manage.py migrate --noinput
    run_as downstack python /app/manage.py collectstatic --noinput >/dev/null
    as downstack gunicorn downstack.wsgi --bind 0.0.0.0:8000 \
        --workers "${WEB_CONCURRENCY:-3}" --access-logfile - "$@"
    ;;
worker)
    as_worker celery -A downstack worker --queues "${WORKER_QUEUES:-grading,regrade,default}" \
        --concurrency "${WORKER_CONCURRENCY:-2}" --hostname "${WORKER_NAME:-worker@%h}" \
        --loglevel "${LOG_LEVEL:-INFO}" "$@"
    ;;
beat)
    as downstack celery -A downstack beat --loglevel "${LOG_LEVEL:-INFO}" \
        --schedule /var/lib/downstack/celerybeat-schedule "$@"
    ;;
postgres)
    data=/var/lib/postgresql/data
    bin=/usr/lib/postgresql/15/bin
    if [ ! -s "$data/PG_VERSION" ]; then
        : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}"
        echo "downstack: initialising the database in $data"
        printf '%s\n' "$POSTGRES_PASSWORD" >/tmp/pwfile
        chown postgres /tmp/pwfile "$data"
        run_as postgres "$bin/initdb" -D "$data" \
            --username=downstack --pwfile=/tmp/pwfile --auth-local=trust \
            --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        rm -f /tmp/pwfile
        echo "host all all all scram-sha-256" >>"$data/pg_hba.conf"
        # A private socket while the database is made, so nothing sees a server early.
        init_socket=$(mktemp -d)
        chown postgres "$init_socket"
        run_as postgres "$bin/pg_ctl" -D "$data" -w start \
            -o "-c listen_addresses='' -c unix_socket_directories=$init_socket" >/dev/null
        run_as postgres createdb --host="$init_socket" --username=downstack downstack
        run_as postgres "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
        rmdir "$init_socket"
    fi
    as postgres "$bin/postgres" -D "$data" -c listen_addresses='*' "$@"
    ;;
redis)
    : "${REDIS_PASSWORD:?set REDIS_PASSWORD in .env}"
    as redis redis-server --bind 0.0.0.0 --port 6379 --dir /var/lib/redis \
        --appendonly yes --requirepass "$REDIS_PASSWORD" "$@"
    ;;
manage)
    as downstack python /app/manage.py "$@"
    ;;
*)
    echo "usage: downstack {web|worker|beat|postgres|redis|manage} [ARGS...]" >&2
    exit 2
    ;;
esac
