#!/usr/bin/env bash
# Run Downstack on its embedded defaults: SQLite and a filesystem broker under var/,
# a Celery worker (with the periodic reaper) beside gunicorn. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
HOST=${DEMO_HOST:-127.0.0.1}
PORT=${DEMO_PORT:-8000}
VAR_DIR=${DOWNSTACK_VAR_DIR:-var}
export PYTHONPATH="platform:.${PYTHONPATH:+:$PYTHONPATH}"

$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput >/dev/null
$PY manage.py labs sync
echo "Demo logins:"
$PY manage.py demo_users

$PY -m celery -A downstack worker --beat --queues grading,regrade,default --concurrency 2 \
    --loglevel INFO --schedule "$VAR_DIR/celerybeat-schedule" >"$VAR_DIR/worker.log" 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM

echo
echo "Downstack is running at http://$HOST:$PORT/  (worker log: $VAR_DIR/worker.log; Ctrl-C stops)"
echo
$PY -m gunicorn downstack.wsgi --bind "$HOST:$PORT" --workers 2 --access-logfile -
