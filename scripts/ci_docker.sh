#!/usr/bin/env bash
# Prepare this machine for the docker tests: install the engine and debootstrap if missing, start
# dockerd on its unix socket AND on tcp://127.0.0.1:2375 (the remote-mode tests reach the same
# engine over loopback TCP), wait for it, and build the sandbox image offline (cache-aware: a few
# seconds when ~/.cache/conjure-nb or the engine already has it; ~1-2 minutes from scratch).
#
# Usage (from .ci/run):   bash scripts/ci_docker.sh && CONJURE_REQUIRE_DOCKER=1 .venv/bin/pytest ...
# Needs root. Leaves dockerd running (CI machines are throwaway); the tests remove their containers.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
TCP=${CONJURE_DOCKER_TCP:-tcp://127.0.0.1:2375}

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "ci_docker: apt-get install ${need[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

ping_engine() { "$PY" -c "import docker, sys; c = docker.DockerClient(base_url=sys.argv[1]); c.ping(); c.close()" "$1" >/dev/null 2>&1; }

if ! ping_engine unix:///var/run/docker.sock; then
  echo "ci_docker: starting dockerd (-H unix:///var/run/docker.sock -H $TCP)"
  setsid dockerd -H unix:///var/run/docker.sock -H "$TCP" >/tmp/dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 90); do ping_engine unix:///var/run/docker.sock && break; sleep 1; done
fi
if ! ping_engine unix:///var/run/docker.sock; then
  echo "ci_docker: dockerd did not come up; its log:" >&2
  tail -50 /tmp/dockerd.log >&2 || true
  exit 1
fi
if ! ping_engine "$TCP"; then
  echo "ci_docker: WARNING the engine does not listen on $TCP; remote-mode tests will fail under" \
       "CONJURE_REQUIRE_DOCKER=1 (restart dockerd with -H $TCP)" >&2
fi

start=$(date +%s)
"$PY" -m conjure_nb sandbox build --offline
echo "ci_docker: sandbox image ready ($(( $(date +%s) - start )) s)"
