#!/usr/bin/env bash
# Prepares a Debian 12 host to grade submissions: the Docker engine with no default bridge
# (sandboxes get network "none" anyway, and nothing can fall back to a bridge), gVisor
# registered as the "runsc" runtime, debootstrap for offline grader images, Chromium for
# the browser tests, docker-compose for the self-hosted deployment (deploy/), and the
# grader images themselves (every family, see graders/images).
#
# Run as root from anywhere in the repository:  sudo scripts/host-setup.sh
# Safe to run again: it installs only what is missing, rewrites the engine's settings and
# restarts the engine only when they differ, and the image build skips what exists.
# PYTHON overrides the interpreter used for the image build (default: .venv/bin/python).
set -euo pipefail

say() { echo "host-setup: $*"; }
die() {
    echo "host-setup: error: $*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "run me as root: sudo $0"
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
DAEMON_JSON=/etc/docker/daemon.json
DOCKERD_LOG=/var/log/dockerd.log
WAIT_S=30

# -- packages -------------------------------------------------------------------------------
packages=(docker.io runsc debootstrap chromium docker-compose)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    say "packages already installed: ${packages[*]}"
else
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# -- engine settings ------------------------------------------------------------------------
runsc_path=$(command -v runsc) || die "runsc is not on PATH although the package is installed"
if [ -x "$PYTHON" ]; then json_python=$PYTHON; else json_python=python3; fi
mkdir -p "$(dirname "$DAEMON_JSON")"
# Merge into whatever is there (other settings are kept); write only on a real difference.
settings_changed=$(
    "$json_python" - "$DAEMON_JSON" "$runsc_path" <<'EOF'
import json, os, sys

path, runsc = sys.argv[1], sys.argv[2]
try:
    with open(path) as handle:
        current = json.load(handle)
except FileNotFoundError:
    current = {}
except json.JSONDecodeError as exc:
    sys.exit(f"{path} is not valid JSON ({exc}); fix or remove it")
wanted = json.loads(json.dumps(current))
wanted["bridge"] = "none"
wanted.setdefault("runtimes", {})["runsc"] = {"path": runsc, "runtimeArgs": ["--network=none"]}
if wanted == current:
    print("no")
else:
    with open(path + ".tmp", "w") as handle:
        json.dump(wanted, handle, indent=2)
        handle.write("\n")
    os.replace(path + ".tmp", path)
    print("yes")
EOF
) || die "could not update $DAEMON_JSON (see the message above)"
if [ "$settings_changed" = yes ]; then
    say "wrote $DAEMON_JSON (bridge none, runsc with --network=none)"
else
    say "$DAEMON_JSON already up to date"
fi

# -- engine ---------------------------------------------------------------------------------
engine_up() { docker info >/dev/null 2>&1; }

wait_for_engine() {
    for _ in $(seq "$WAIT_S"); do
        engine_up && return 0
        sleep 1
    done
    die "Docker did not come up within ${WAIT_S} s; see $DOCKERD_LOG or the service log"
}

start_engine() {
    if [ -d /run/systemd/system ]; then
        systemctl start docker
    else
        # No systemd: run the daemon in the background, detached. (Debian's SysV script
        # is not used: it raises ulimits, which a container-like host refuses.)
        setsid dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
    fi
    wait_for_engine
}

stop_engine() {
    local pid
    pid=$(cat /var/run/docker.pid 2>/dev/null || true)
    [ -n "$pid" ] || die "Docker is running but /var/run/docker.pid is missing; restart it by hand"
    kill -TERM "$pid"
    for _ in $(seq "$WAIT_S"); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 1
    done
    die "Docker (pid $pid) did not stop within ${WAIT_S} s"
}

if ! engine_up; then
    say "starting Docker"
    start_engine
    say "Docker is running"
elif [ "$settings_changed" = yes ]; then
    say "restarting Docker to apply the new settings"
    if [ -d /run/systemd/system ]; then
        systemctl restart docker
        wait_for_engine
    else
        stop_engine
        start_engine
    fi
    say "Docker restarted"
else
    say "Docker is already running"
fi

if docker info --format '{{json .Runtimes}}' | grep -q '"runsc"'; then
    say "runsc is registered with Docker"
else
    die "Docker does not list the runsc runtime; check $DAEMON_JSON and restart Docker"
fi

# -- grader image ---------------------------------------------------------------------------
[ -x "$PYTHON" ] || die "no Python at $PYTHON: create the virtualenv first (python3 -m venv .venv && .venv/bin/pip install -e '.[dev]') or set PYTHON"
"$PYTHON" -m graders.images build --offline --all
say "done"
