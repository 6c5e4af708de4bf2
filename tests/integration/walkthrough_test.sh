#!/usr/bin/env bash
# The README's first-use walk-through with the real programs: cloudify-manager on a free
# loopback port, cfy driving it, the webapp sample blueprint whose scripts call ctx.
#   walkthrough_test.sh <folder of cloudify-manager, cfy and ctx> <source folder>
set -euo pipefail
bin=$1
src=$2
work=$(mktemp -d)
manager_pid=""
cleanup() {
  if [[ -n $manager_pid ]]; then
    kill "$manager_pid" 2>/dev/null || true
    wait "$manager_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAILED: $*" >&2
  echo "--- manager log" >&2
  tail -n 40 "$work/manager.log" >&2 || true
  exit 1
}

"$bin/cloudify-manager" --listen 127.0.0.1:0 --data-dir "$work/data" \
  --admin-password walkthrough-password >"$work/manager.log" 2>&1 &
manager_pid=$!
url=""
for _ in $(seq 1 200); do
  url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$work/manager.log" | head -n 1 || true)
  [[ -n $url ]] && break
  sleep 0.05
done
[[ -n $url ]] || fail "the manager did not say where it listens"
port=${url##*:}

export CFY_WORKDIR=$work PATH="$bin:$PATH"
cfy profiles use 127.0.0.1 --rest-port "$port" -u admin -p walkthrough-password \
  || fail "profiles use"
cfy install "$src/examples/blueprints/webapp" -b webapp -d webapp-1 -i app_port=9090 \
  >"$work/install.out" || { cat "$work/install.out"; fail "install"; }
grep -q "Finished executing workflow install on deployment webapp-1" "$work/install.out" \
  || fail "install did not finish"
grep -q "LOG <webapp-1>" "$work/install.out" || fail "no script log was shown while installing"

started=$(cfy node-instances list -d webapp-1 --json | grep -o '"state":"started"' | wc -l)
[[ $started -eq 4 ]] || fail "expected 4 started node instances, got $started"
cfy deployments outputs webapp-1 --json >"$work/outputs.json"
grep -q '9090' "$work/outputs.json" || fail "outputs do not carry the app port: $(cat "$work/outputs.json")"

cfy uninstall webapp-1 >"$work/uninstall.out" || { cat "$work/uninstall.out"; fail "uninstall"; }
[[ $(cfy deployments list --json) == "[]" ]] || fail "the deployment is still listed"
[[ $(cfy blueprints list --json) == "[]" ]] || fail "the blueprint is still listed"
echo "walk-through passed"
