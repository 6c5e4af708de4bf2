#!/usr/bin/env bash
# README command 1: install the build dependencies, build, and start cloudify-manager on its
# embedded default (data in ./cloudify-data, REST API on http://127.0.0.1:53333).
# Extra arguments go to cloudify-manager (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "${CLOUDIFY_JOBS:-2}" --target cloudify-manager
echo "Starting cloudify-manager (Ctrl-C stops it). Log in as admin with the password given by"
echo "--admin-password, or the random one it logs on its first start; try:"
echo "  curl -u admin:PASSWORD -H 'Tenant: default_tenant' http://127.0.0.1:53333/api/v3.1/status"
exec build/release/apps/cloudify-manager "$@"
