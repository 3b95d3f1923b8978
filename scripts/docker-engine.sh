#!/usr/bin/env bash
# The Docker engine for the container tests.
#   start DIR   uses the engine already answering on /var/run/docker.sock, or starts Debian's
#               dockerd with its pid file in DIR; waits until it answers.
#   stop DIR    stops the engine only if `start DIR` started it (by that pid, never by name).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?directory}
mkdir -p "$dir"
pidfile="$dir/dockerd.pid"
docker_cli=/usr/bin/docker; [ -x "$docker_cli" ] || docker_cli=docker
case "$cmd" in
  start)
    if "$docker_cli" info >/dev/null 2>&1; then echo "docker-engine: using the running engine" >&2; exit 0; fi
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    # setsid: the engine must not die with this shell; its log stays beside the pid file.
    $sudo setsid dockerd --pidfile "$pidfile" >"$dir/dockerd.log" 2>&1 < /dev/null &
    for _ in $(seq 1 120); do
      "$docker_cli" info >/dev/null 2>&1 && { echo "docker-engine: started (pid $(cat "$pidfile"))" >&2; exit 0; }
      sleep 0.5
    done
    echo "docker-engine: dockerd did not answer within 60 s; its log:" >&2
    tail -30 "$dir/dockerd.log" >&2
    exit 1
    ;;
  stop)
    [ -f "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.5; done
    $sudo kill -9 "$pid" 2>/dev/null || true
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
