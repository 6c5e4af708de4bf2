#!/usr/bin/env bash
# REST API figures (issue 8), on a Release build:
#   1. rest_bench: GET /api/v3.1/node-instances/<id> on the embedded default, 64 keep-alive
#      connections;
#   2. nginx (Debian's, if installed) serving a static file of the same size with the same load
#      generator, started here on a free port and stopped after;
#   3. the cloudify-manager program: time until /api/v3.1/ok answers, and idle RSS.
# Usage: bench/rest_bench.sh [BUILD_DIR] (default build/release). Nothing is left running.
set -euo pipefail
build=${1:-build/release}
seconds=${SECONDS_PER_RUN:-10}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

echo "== embedded manager"
out=$("$build/bench/rest_bench" --seconds "$seconds")
echo "$out"
body=$(echo "$out" | sed -n 's/.*body \([0-9]*\) B.*/\1/p' | tail -1)

if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
  echo "== nginx, static file of $body bytes"
  port=$(free_port)
  mkdir -p "$work/nginx/html" "$work/nginx/logs"
  head -c "$body" /dev/zero | tr '\0' 'x' > "$work/nginx/html/instance.json"
  chmod 755 "$work" && chmod -R a+rX "$work/nginx"  # nginx workers run unprivileged
  cat > "$work/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$port; root $work/nginx/html; }
}
CONF
  /usr/sbin/nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
  pids+=($!)
  sleep 0.5
  "$build/bench/rest_bench" --seconds "$seconds" --target "127.0.0.1:$port/instance.json"
  kill "${pids[-1]}"
  wait "${pids[-1]}" 2>/dev/null || true
fi

echo "== cloudify-manager program"
port=$(free_port)
start=$(date +%s%N)
"$build/apps/cloudify-manager" --listen "127.0.0.1:$port" --data-dir "$work/data" \
  --admin-password bench 2>"$work/manager.log" &
manager=$!
pids+=($manager)
until curl -sf "http://127.0.0.1:$port/api/v3.1/ok" >/dev/null; do sleep 0.005; done
ready=$(( ($(date +%s%N) - start) / 1000000 ))
echo "ready to serve after ${ready} ms (first start: creates the database and the admin)"
sleep 2
echo "idle RSS: $(awk '/VmRSS/ {print $2, $3}' /proc/$manager/status)"
kill -TERM $manager
wait $manager 2>/dev/null || true
start=$(date +%s%N)
"$build/apps/cloudify-manager" --listen "127.0.0.1:$port" --data-dir "$work/data" \
  --admin-password bench 2>>"$work/manager.log" &
manager=$!
pids+=($manager)
until curl -sf "http://127.0.0.1:$port/api/v3.1/ok" >/dev/null; do sleep 0.005; done
echo "ready to serve after $(( ($(date +%s%N) - start) / 1000000 )) ms (restart on an existing data dir)"
kill -TERM $manager
wait $manager 2>/dev/null || true
