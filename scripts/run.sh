#!/usr/bin/env bash
# README command 1: install the build dependencies, build, and start cloudify-manager on its
# embedded default (data in ./cloudify-data, REST API on http://127.0.0.1:53333).
# Extra arguments go to cloudify-manager (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "${CLOUDIFY_JOBS:-2}" --target cloudify-manager
echo "Starting cloudify-manager; try: curl http://127.0.0.1:53333/api/v3.1/ok  (Ctrl-C stops it)"
exec build/release/apps/cloudify-manager "$@"
