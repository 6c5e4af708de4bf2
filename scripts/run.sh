#!/usr/bin/env bash
# README command 1: install the build dependencies, build, and start cloudify-manager on its
# embedded default (data in ./cloudify-data, REST API on http://127.0.0.1:53333).
# Extra arguments go to cloudify-manager (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "${CLOUDIFY_JOBS:-2}" --target cloudify-manager cfy ctx
echo "Starting cloudify-manager on http://127.0.0.1:53333 (Ctrl-C stops it). Log in as admin with"
echo "the password given by --admin-password (or CLOUDIFY_ADMIN_PASSWORD), or the random one it"
echo "logs on its first start; then, from another terminal:"
echo "  build/release/apps/cfy profiles use 127.0.0.1 -u admin -p PASSWORD"
exec build/release/apps/cloudify-manager "$@"
