#!/usr/bin/env bash
# Installs every Debian 12 package libcloudify needs to build and test, by name.
# Idempotent and quiet when everything is already there.
#   scripts/install-deps.sh            build dependencies
#   scripts/install-deps.sh --servers  also the PostgreSQL, RabbitMQ, nginx and SSH servers for the tests
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git clang-format
  nlohmann-json3-dev doctest-dev libyaml-cpp-dev libcpp-httplib-dev
  libsoci-dev libboost-dev libsqlite3-dev libpq-dev librabbitmq-dev
  libssl-dev libarchive-dev libcli11-dev
  # tcmalloc, which the manager and agent programs and the benchmarks link (CMakeLists.txt).
  libgoogle-perftools-dev
  # The SSH client that installs agents of install_method remote.
  libssh-dev
  # What script operations run: Python scripts, and Jinja2 for templates beyond substitutions.
  python3 python3-jinja2
)
if [[ "${1:-}" == "--servers" ]]; then
  # openssh-server: the remote agent tests start their own sshd on loopback.
  packages+=(postgresql rabbitmq-server nginx-light openssh-server)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Service start during install is left to scripts/start-test-servers.sh.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
