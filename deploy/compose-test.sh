#!/usr/bin/env bash
# The production path, end to end, on one machine without an image registry:
# Docker (started here if it is not running) → stand-in base images → the
# project's images from the Dockerfile → `docker-compose up` with the shipped
# docker-compose.yml (plus deploy/docker-compose.test.yml: host network for builds)
# → wait for health → deploy/smoke_journey.py through nginx on loopback → memory
# per container → everything torn down, volumes included. Built images stay
# cached for the next run.
#
#   make compose-test        (as root)
#
# Figures go to test-artifacts/compose-test/summary.txt; docs/deploy.md explains them.
set -euo pipefail
cd "$(dirname "$0")/.."

project=fashionshop-compose-test
base_url=http://localhost:8080
out=test-artifacts/compose-test
compose=(docker-compose -p "$project" -f docker-compose.yml -f deploy/docker-compose.test.yml)
mkdir -p "$out"
: >"$out/summary.txt"

note() { echo "$*" | tee -a "$out/summary.txt"; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.0f} s')" "$1" "$(now)"; }

command -v dockerd >/dev/null && command -v docker-compose >/dev/null && command -v debootstrap >/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io docker-compose debootstrap
}

dockerd_pid=
if ! docker info >/dev/null 2>&1; then
    echo "== starting dockerd"
    setsid dockerd --storage-driver overlay2 >"$out/dockerd.log" 2>&1 </dev/null &
    dockerd_pid=$!
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null
fi

# A fresh secret for this throwaway stack; the compose file refuses to start without one.
SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
export SECRET_KEY

teardown() {
    status=$?
    if [ $status -ne 0 ]; then
        "${compose[@]}" ps >"$out/ps.txt" 2>&1 || true
        "${compose[@]}" logs --no-color --tail=300 >"$out/logs.txt" 2>&1 || true
        echo "compose test FAILED; container logs in $out/logs.txt" >&2
    fi
    "${compose[@]}" down --volumes --remove-orphans >/dev/null 2>&1 || true
    if [ -n "$dockerd_pid" ]; then kill "$dockerd_pid" 2>/dev/null || true; fi
    exit $status
}
trap teardown EXIT
# Nothing left from an interrupted run.
"${compose[@]}" down --volumes --remove-orphans >/dev/null 2>&1 || true

echo "== stand-in base images"
started=$(now)
deploy/standins/build.sh
note "stand-in base images: $(since "$started")"

echo "== building the web and worker images"
started=$(now)
# migrate runs the worker's image: building web and worker builds everything.
"${compose[@]}" build web worker >"$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
note "image build: $(since "$started")"
for image in fashionshop-web fashionshop-worker; do
    note "$image: $(docker image inspect -f '{{.Size}}' "$image:latest" | awk '{printf "%.0f MB", $1 / 1e6}')"
done

echo "== docker-compose up"
started=$(now)
"${compose[@]}" up -d
healthy() { [ "$(docker inspect -f '{{.State.Health.Status}}' "$("${compose[@]}" ps -q "$1")")" = healthy ]; }
for _ in $(seq 300); do
    if healthy web && healthy worker && curl -fsS -o /dev/null "$base_url/healthz"; then break; fi
    sleep 2
done
healthy web && healthy worker && curl -fsS -o /dev/null "$base_url/healthz"
note "up to healthy (migrate, catalog import and training included): $(since "$started")"

memory() {
    note "memory $1:"
    docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' \
        $(docker ps -q --filter "label=com.docker.compose.project=$project") \
        | sed "s/^${project}_//" | tee -a "$out/summary.txt"
}
memory "at rest"

echo "== smoke journey through nginx"
started=$(now)
python3 deploy/smoke_journey.py --base "$base_url" --photo "$(ls data/images/*.jpg | head -n1)"
note "smoke journey: $(since "$started")"
memory "after the journey"
echo "compose test passed; figures in $out/summary.txt"
