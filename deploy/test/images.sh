#!/usr/bin/env bash
# Builds the base images `make test-deploy` runs the stack on, from Debian
# packages only: no public image registry is reachable on the machines this
# project is tested on (see ../shared/STACK.md, "Docker on these machines").
# compose.yaml keeps the official images for users; the test points its
# *_IMAGE variables at these instead.
#
# Every image is cached: one that exists already is not built again, so only
# the first run pays (about ten minutes on 2 cores). REBUILD=1 rebuilds them.
#
#   betting-local/debian:bookworm       debootstrap --variant=minbase bookworm, imported
#                                       (stands in for debian:bookworm-slim)
#   betting-local/rust:1.95-bookworm    + gcc and this machine's ~/.rustup 1.95 toolchain
#                                       (stands in for rust:1.95-slim-bookworm)
#   betting-local/postgres:15           Debian's postgresql, started like the official image
#   betting-local/rabbitmq:3-management Debian's rabbitmq-server with the management plugin
#   betting-local/haproxy:bookworm      Debian's haproxy
#   betting-local/prometheus:bookworm   Debian's prometheus (with wget for the healthcheck)
#   betting-local/pgadmin4:pypi         pgadmin4 from PyPI under gunicorn, set up like the official image
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=betting-local
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
toolchain=${RUST_TOOLCHAIN:-1.95.0-x86_64-unknown-linux-gnu}

log() { echo "images: $*"; }
exists() { [ "${REBUILD:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }

# The Debian root file system every other image starts from.
base=$prefix/debian:bookworm
if ! exists "$base"; then
  log "debootstrap bookworm (minbase) -> $base"
  root=$(mktemp -d /tmp/betting-rootfs.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror" \
    >/tmp/betting-debootstrap.log 2>&1 || { tail -20 /tmp/betting-debootstrap.log >&2; exit 1; }
  # The certificate authorities this machine trusts beyond Debian's (an
  # egress proxy that re-signs TLS, say): without them, pip and cargo in
  # the images cannot reach PyPI and crates.io here. They are kept where
  # update-ca-certificates finds them, so every image built on this one
  # keeps trusting them.
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null 2>&1
  fi
  # Keep images small, as the official slim images do: no downloaded
  # packages, no documentation.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/*
  tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["bash"]' - "$base" >/dev/null
  rm -rf "$root"
  trap - EXIT
fi

# One image per directory of images/, each FROM the base.
build() {
  local name=$1 dir=$2
  shift 2
  if exists "$name"; then
    log "$name is there"
    return
  fi
  log "building $name"
  docker build -q --build-arg "BASE=$base" "$@" -t "$name" "$dir" >/dev/null
}

build "$prefix/postgres:15" "$here/images/postgres"
build "$prefix/rabbitmq:3-management" "$here/images/rabbitmq"
build "$prefix/haproxy:bookworm" "$here/images/haproxy"
build "$prefix/prometheus:bookworm" "$here/images/prometheus"
build "$prefix/pgadmin4:pypi" "$here/images/pgadmin"

# The build image: the toolchain comes from this machine's rustup (its
# documentation left out: 800 MB nobody reads in a build), handed to
# docker build as a tar in the context.
rust=$prefix/rust:1.95-bookworm
if ! exists "$rust"; then
  src=$(readlink -f "$HOME/.rustup/toolchains/$toolchain")
  [ -x "$src/bin/cargo" ] || { echo "images: no Rust toolchain at $src" >&2; exit 1; }
  context=$(mktemp -d /tmp/betting-rust.XXXXXX)
  trap 'rm -rf "$context"' EXIT
  cp "$here/images/rust/Dockerfile" "$context/"
  tar -C "$src" --exclude=./share -cf "$context/toolchain.tar" .
  build "$rust" "$context"
  rm -rf "$context"
  trap - EXIT
fi
log "all base images ready"
