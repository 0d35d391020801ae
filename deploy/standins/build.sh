#!/usr/bin/env bash
# Builds stand-ins for the official base images the Dockerfile and compose file
# name (python:3.11-slim, postgres:15, redis:7, nginx:1.27) on a machine that
# cannot reach an image registry: a debootstrapped Debian bookworm plus Debian's
# packages, each labelled com.fashionshop.standin=true. They only have the
# behaviour the compose file relies on. A tag that already holds a real image is
# left alone; a stand-in is rebuilt only when STANDINS_REBUILD=1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${STANDINS_WORKDIR:-/var/tmp/fashionshop-standins}"
base_tag="fashionshop-standin/debian:bookworm"

# The host's Debian mirror, so the stand-ins come from where the host's packages do.
mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
mirror="${mirror:-http://deb.debian.org/debian}"

is_standin() { [ "$(docker image inspect -f '{{index .Config.Labels "com.fashionshop.standin"}}' "$1" 2>/dev/null)" = "true" ]; }
present() { docker image inspect "$1" >/dev/null 2>&1; }

if ! present "$base_tag" || [ "${STANDINS_REBUILD:-0}" = 1 ]; then
    command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }
    rm -rf "$work/rootfs" && mkdir -p "$work"
    echo "== debootstrap bookworm from $mirror"
    debootstrap --variant=minbase --include=ca-certificates bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log"
    # Slim like the official images: no package caches, docs, man pages or translations.
    rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/cache/apt/*.bin \
        "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/usr/share/doc "$work"/rootfs/usr/share/man \
        "$work"/rootfs/usr/share/info "$work"/rootfs/usr/share/locale
    cp "$here/dpkg-slim.cfg" "$work/rootfs/etc/dpkg/dpkg.cfg.d/slim"
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$work/rootfs/etc/apt/apt.conf.d/90slim"
    # As in the official Debian images: apt keeps no package caches in image layers.
    cp "$here/apt-docker-clean.conf" "$work/rootfs/etc/apt/apt.conf.d/docker-clean"
    # Package scripts must not try to start services inside an image build.
    printf '#!/bin/sh\nexit 101\n' >"$work/rootfs/usr/sbin/policy-rc.d" && chmod +x "$work/rootfs/usr/sbin/policy-rc.d"
    tar -C "$work/rootfs" -c . | docker import \
        -c 'LABEL com.fashionshop.standin=true' \
        -c 'LABEL org.opencontainers.image.description="Stand-in Debian bookworm for testing, made by deploy/standins/build.sh"' \
        -c 'ENV LANG=C.UTF-8' -c 'CMD ["bash"]' - "$base_tag" >/dev/null
    rm -rf "$work/rootfs"
fi

# pip inside the Python stand-in verifies TLS with the host's CA bundle.
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$here"/*.Dockerfile "$here"/*-entrypoint.sh "$context/"
cp /etc/ssl/certs/ca-certificates.crt "$context/host-ca-certificates.crt"

for pair in python:python:3.11-slim postgres:postgres:15 redis:redis:7 nginx:nginx:1.27; do
    name="${pair%%:*}" tag="${pair#*:}"
    if present "$tag" && ! is_standin "$tag"; then
        echo "== $tag: a real image is present, keeping it"
        continue
    fi
    if present "$tag" && [ "${STANDINS_REBUILD:-0}" != 1 ]; then
        continue
    fi
    echo "== building stand-in $tag"
    docker build -q --network host -f "$context/$name.Dockerfile" -t "$tag" "$context" >/dev/null
done
