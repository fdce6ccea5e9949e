#!/usr/bin/env bash
# A second Docker engine on this machine, standing in for a second grading host: a dockerd
# with its own socket, data root, exec root, pid file and settings file. It starts its
# own containerd under its exec root (and uses a containerd namespace of its own, in case
# a system-wide containerd is shared), so it sees none of the first engine's images or
# containers. Its settings are the grading host's: no default bridge ("bridge": "none"),
# no iptables rules, and gVisor registered as the "runsc" runtime with --network=none, as
# scripts/host-setup.sh sets up the first engine. Sandboxes keep network "none" and every
# limit: those are set per container by the worker, whichever engine it talks to.
#
# Run as root from anywhere in the repository:
#   sudo deploy/second-engine.sh start        # start it; says so when it is up already
#   sudo deploy/second-engine.sh load-images  # copy the first engine's grader images to it
#   sudo deploy/second-engine.sh status       # does it answer, and where
#   sudo deploy/second-engine.sh stop         # stop it; says so when it is down already
# A worker grades on it with DOCKER_HOST=unix:///run/downstack-engine2/docker.sock.
#
# Environment (defaults in brackets):
#   ENGINE2_RUN_DIR    socket, pid file, exec root, settings file and log
#                      [/run/downstack-engine2]
#   ENGINE2_DATA_ROOT  its images and containers [/var/lib/downstack-engine2]
#   ENGINE1_HOST       the engine whose grader images load-images copies
#                      [unix:///var/run/docker.sock]
#   WAIT_S             how long start and stop wait for the engine [30]
set -euo pipefail

say() { echo "second-engine: $*"; }
die() {
    echo "second-engine: error: $*" >&2
    exit 1
}

RUN_DIR=${ENGINE2_RUN_DIR:-/run/downstack-engine2}
DATA_ROOT=${ENGINE2_DATA_ROOT:-/var/lib/downstack-engine2}
ENGINE1_HOST=${ENGINE1_HOST:-unix:///var/run/docker.sock}
WAIT_S=${WAIT_S:-30}
SOCKET=$RUN_DIR/docker.sock
ENGINE2_HOST=unix://$SOCKET
PID_FILE=$RUN_DIR/dockerd.pid
CONFIG_FILE=$RUN_DIR/daemon.json
LOG_FILE=$RUN_DIR/dockerd.log
# The grader images, every family (see graders/images): content tags and latest.
IMAGES=downstack/grader-*

engine2() { docker -H "$ENGINE2_HOST" "$@"; }
engine2_up() { engine2 info >/dev/null 2>&1; }

# The pid of the running daemon, or nothing when there is none.
engine2_pid() {
    local pid
    pid=$(cat "$PID_FILE" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

write_config() {
    local runsc_path
    runsc_path=$(command -v runsc) ||
        die "runsc is not installed: run sudo scripts/host-setup.sh first"
    cat >"$CONFIG_FILE" <<EOF
{
  "hosts": ["$ENGINE2_HOST"],
  "data-root": "$DATA_ROOT",
  "exec-root": "$RUN_DIR/exec",
  "pidfile": "$PID_FILE",
  "containerd-namespace": "downstack-engine2",
  "containerd-plugins-namespace": "downstack-engine2-plugins",
  "bridge": "none",
  "iptables": false,
  "runtimes": {"runsc": {"path": "$runsc_path", "runtimeArgs": ["--network=none"]}}
}
EOF
}

start() {
    if engine2_up; then
        say "already running at $ENGINE2_HOST (pid $(engine2_pid))"
        return
    fi
    if [ -z "$(engine2_pid)" ]; then
        mkdir -p "$RUN_DIR" "$DATA_ROOT"
        write_config
        # No systemd needed: detached in a session of its own, as host-setup.sh does.
        setsid dockerd --config-file "$CONFIG_FILE" >"$LOG_FILE" 2>&1 </dev/null &
    fi
    for _ in $(seq "$WAIT_S"); do
        if engine2_up; then
            say "running at $ENGINE2_HOST (pid $(engine2_pid)); its log is $LOG_FILE"
            return
        fi
        sleep 1
    done
    die "the second engine did not answer within ${WAIT_S} s; see $LOG_FILE"
}

stop() {
    local pid
    pid=$(engine2_pid)
    if [ -z "$pid" ]; then
        say "not running"
        return
    fi
    kill -TERM "$pid"
    for _ in $(seq "$WAIT_S"); do
        if ! kill -0 "$pid" 2>/dev/null; then
            say "stopped (pid $pid)"
            return
        fi
        sleep 1
    done
    die "the second engine (pid $pid) did not stop within ${WAIT_S} s; see $LOG_FILE"
}

status() {
    if engine2_up; then
        say "running at $ENGINE2_HOST (pid $(engine2_pid))"
        engine2 images "$IMAGES"
    else
        say "not answering at $ENGINE2_HOST"
        return 3
    fi
}

# Copy every grader image tag the first engine has and the second lacks (or holds at
# another image), in one save so that layers the families share travel once.
load_images() {
    engine2_up || die "the second engine does not answer: run $0 start first"
    local tags missing=() tag
    tags=$(docker -H "$ENGINE1_HOST" images --format '{{.Repository}}:{{.Tag}}' "$IMAGES" |
        grep -v ':<none>$' || true)
    [ -n "$tags" ] ||
        die "the first engine has no grader images: build them with python -m graders.images build --offline --all"
    for tag in $tags; do
        if [ "$(engine2 image inspect --format '{{.Id}}' "$tag" 2>/dev/null)" = \
            "$(docker -H "$ENGINE1_HOST" image inspect --format '{{.Id}}' "$tag")" ]; then
            say "has $tag already"
        else
            missing+=("$tag")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "every grader image is loaded"
        return
    fi
    say "loading ${missing[*]}"
    docker -H "$ENGINE1_HOST" save "${missing[@]}" | engine2 load
}

[ "$(id -u)" -eq 0 ] || die "run me as root: sudo $0 ${1:-}"
case "${1:-}" in
start) start ;;
load-images) load_images ;;
stop) stop ;;
status) status ;;
*) die "usage: $0 start|load-images|status|stop" ;;
esac
