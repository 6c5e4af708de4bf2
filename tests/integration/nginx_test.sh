#!/usr/bin/env bash
# deploy/nginx's proxy locations in front of a real cloudify-manager: cfy talks only to nginx
# and installs and uninstalls the webapp sample through it (multipart upload, the live events
# stream, every API call).
#   nginx_test.sh <folder of cloudify-manager, cfy and ctx> <source folder>
# Skips (exit 77) when nginx is not installed, unless CLOUDIFY_REQUIRE_SERVERS=1.
set -euo pipefail
bin=$1
src=$(cd "$2" && pwd)
nginx=$(command -v nginx || echo /usr/sbin/nginx)
if [[ ! -x $nginx ]]; then
  [[ ${CLOUDIFY_REQUIRE_SERVERS:-0} == 1 ]] && { echo "FAILED: nginx is not installed" >&2; exit 1; }
  echo "skipped: no nginx"
  exit 77
fi
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.2
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAILED: $*" >&2
  tail -n 20 "$work/manager.log" "$work/error.log" >&2 || true
  exit 1
}

"$bin/cloudify-manager" --listen 127.0.0.1:0 --data-dir "$work/data" \
  --admin-password nginx-password >"$work/manager.log" 2>&1 &
pids+=($!)
url=""
for _ in $(seq 1 200); do
  url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$work/manager.log" | head -n 1 || true)
  [[ -n $url ]] && break
  sleep 0.05
done
[[ -n $url ]] || fail "the manager did not start"

# The shipped upstream and locations, with this test's addresses and plain HTTP.
port=$((20000 + RANDOM % 20000))
sed -e "s|server 127.0.0.1:53333|server ${url#http://}|" \
  -e '/^server {/,$d' "$src/deploy/nginx/cloudify-manager.conf" >"$work/upstream.conf"
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $work/client_body;
  proxy_temp_path $work/proxy;
  include $work/upstream.conf;
  server {
    listen 127.0.0.1:$port;
    include $src/deploy/nginx/cloudify-locations.conf;
  }
}
CONF
"$nginx" -t -q -c "$work/nginx.conf" -g 'daemon off;' 2>"$work/error.log" || fail "nginx -t"
"$nginx" -c "$work/nginx.conf" -g 'daemon off;' &
pids+=($!)

export CFY_WORKDIR=$work PATH="$bin:$PATH"
used=0
for _ in $(seq 1 100); do  # until nginx listens
  if cfy profiles use 127.0.0.1 --rest-port "$port" -u admin -p nginx-password >/dev/null 2>&1; then
    used=1
    break
  fi
  sleep 0.05
done
[[ $used == 1 ]] || fail "profiles use through nginx"
cfy install "$src/examples/blueprints/webapp" -b webapp -d web-1 >"$work/install.out" \
  || { cat "$work/install.out"; fail "install through nginx"; }
grep -q "LOG <web-1>" "$work/install.out" || fail "no live script logs through nginx"
started=$(cfy node-instances list -d web-1 --json | grep -o '"state":"started"' | wc -l)
[[ $started -eq 4 ]] || fail "expected 4 started node instances, got $started"
cfy uninstall web-1 >/dev/null || fail "uninstall through nginx"
echo "nginx proxy passed"
