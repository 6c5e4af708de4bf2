#!/usr/bin/env bash
# README command 2: install everything (PostgreSQL and RabbitMQ servers included), start the
# servers on loopback, build, and run every test: format check, the AddressSanitizer +
# UndefinedBehaviorSanitizer lane, the release lane with install + consumer test, and last the
# release ctest run whose summary line ends the output.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=${CLOUDIFY_JOBS:-2}
total_start=$SECONDS

step() {  # step LABEL COMMAND...: runs it and prints its wall time
  local label=$1 start=$SECONDS
  shift
  echo "==> $label"
  "$@"
  echo "[time] $label: $((SECONDS - start)) s"
}

step "install dependencies" bash scripts/install-deps.sh --servers
eval "$(bash scripts/start-test-servers.sh)"
# Integration tests fail (never skip) when their server URL is missing.
export CLOUDIFY_REQUIRE_SERVERS=1

format_check() {
  local files
  if [[ -d .git ]]; then
    files=$(git ls-files '*.cc' '*.h')
  else
    files=$(find include lib apps examples tests bench -name '*.cc' -o -name '*.h')
  fi
  # shellcheck disable=SC2086
  clang-format --dry-run --Werror $files
}
step "format check" format_check

step "configure (asan+ubsan)" cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCLOUDIFY_WERROR=ON -DCLOUDIFY_SANITIZE=address,undefined -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
  -DCLOUDIFY_BUILD_BENCH=OFF -DCLOUDIFY_HEADER_CHECK=OFF
step "build (asan+ubsan)" cmake --build build/asan -j "$jobs"
step "test (asan+ubsan)" env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build/asan -j "$jobs" --timeout 600 --output-on-failure

step "configure (release)" cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCLOUDIFY_WERROR=ON
step "build (release)" cmake --build build/release -j "$jobs"

consumer_check() {
  rm -rf build/install build/consumer build/examples-standalone
  cmake --install build/release --prefix "$root/build/install" >/dev/null
  cmake -S tests/consumer -B build/consumer -G Ninja -DCMAKE_PREFIX_PATH="$root/build/install" >/dev/null
  cmake --build build/consumer -j "$jobs" >/dev/null
  build/consumer/consumer
  build/consumer/consumer_server
  cmake -S examples -B build/examples-standalone -G Ninja \
    -DCMAKE_PREFIX_PATH="$root/build/install" >/dev/null
  cmake --build build/examples-standalone -j "$jobs" >/dev/null
  build/examples-standalone/execution_lifecycle
  build/examples-standalone/embed_manager
}
step "install + find_package consumer" consumer_check

echo "[time] everything before the release tests: $((SECONDS - total_start)) s"
echo "==> test (release)"
ctest --test-dir build/release -j "$jobs" --timeout 600 --output-on-failure
