#!/usr/bin/env bash
# Two cloudify-manager processes over one PostgreSQL schema, one RabbitMQ vhost and one data
# dir (blueprint resources, the secrets key): both serve the same API; an install running on
# the first is finished by the second after the first is killed with SIGKILL, and no operation
# that had succeeded runs again.
#   failover_test.sh <folder of cloudify-manager, cfy and ctx>
# Needs CLOUDIFY_TEST_POSTGRES_URL and CLOUDIFY_TEST_AMQP_MULTI_URL (a vhost of its own: the
# managers consume the shared management queues there). Without them it skips (exit 77),
# unless CLOUDIFY_REQUIRE_SERVERS=1.
set -euo pipefail
bin=$1
if [[ -z ${CLOUDIFY_TEST_POSTGRES_URL:-} || -z ${CLOUDIFY_TEST_AMQP_MULTI_URL:-} ]]; then
  if [[ ${CLOUDIFY_REQUIRE_SERVERS:-0} == 1 ]]; then
    echo "FAILED: CLOUDIFY_TEST_POSTGRES_URL or CLOUDIFY_TEST_AMQP_MULTI_URL is not set" >&2
    exit 1
  fi
  echo "skipped: no PostgreSQL/RabbitMQ URLs"
  exit 77
fi
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
  done
  sleep 0.2  # let the killed processes' files close before the folder goes
  rm -rf "$work"
  if [[ -n "${schema:-}" ]]; then  # leave nothing behind on the shared server
    psql -q "$CLOUDIFY_TEST_POSTGRES_URL" \
      -c "SET client_min_messages TO WARNING; DROP SCHEMA IF EXISTS \"$schema\" CASCADE" \
      >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
fail() {
  echo "FAILED: $*" >&2
  for log in "$work"/manager-*.log; do
    echo "--- $log" >&2
    tail -n 30 "$log" >&2 || true
  done
  exit 1
}

schema="cfy_failover_$$_$RANDOM"
sep='?'
[[ $CLOUDIFY_TEST_POSTGRES_URL == *\?* ]] && sep='&'
store_url="${CLOUDIFY_TEST_POSTGRES_URL}${sep}schema=${schema}"

# JSON without a JSON tool: the objects of a flat list, and one string field of each.
items() { grep -oE '\{[^{}]*\}'; }
field() { grep -oE "\"$1\":\"[^\"]*\"" | cut -d'"' -f4; }

# start_manager NAME: starts it on a free port, sets $port
start_manager() {
  local name=$1 url=""
  "$bin/cloudify-manager" --listen 127.0.0.1:0 --data-dir "$work/data" \
    --store-url "$store_url" --bus-url "$CLOUDIFY_TEST_AMQP_MULTI_URL" \
    --manager-name "$name" --execution-lease-seconds 3 \
    --admin-password failover-password >"$work/manager-$name.log" 2>&1 &
  pids+=($!)
  disown  # its SIGKILL below is the point, not news
  for _ in $(seq 1 300); do
    url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$work/manager-$name.log" | head -n 1 || true)
    [[ -n $url ]] && break
    sleep 0.05
  done
  [[ -n $url ]] || fail "manager $name did not start"
  port=${url##*:}
}

# A chain of five steps: each create script waits a moment, then records that it ran.
mkdir -p "$work/bp/scripts"
cat >"$work/bp/scripts/step.sh" <<'SCRIPT'
#!/bin/sh
sleep 0.7
echo "$(ctx instance id)" >> "$ran_log"
SCRIPT
{
  cat <<'YAML'
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
inputs:
  ran_log: {type: string}
node_types:
  step:
    derived_from: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create:
          implementation: scripts/step.sh
          executor: central_deployment_agent
          inputs:
            ran_log: {default: {get_input: ran_log}}
node_templates:
  s1: {type: step}
YAML
  for i in 2 3 4 5; do
    echo "  s$i: {type: step, relationships: [{type: cloudify.relationships.depends_on, target: s$((i - 1))}]}"
  done
} >"$work/bp/blueprint.yaml"

export CFY_WORKDIR=$work PATH="$bin:$PATH"
start_manager alpha
port_a=$port
pid_a=${pids[0]}
cfy profiles use 127.0.0.1 --rest-port "$port_a" -u admin -p failover-password >/dev/null
cfy blueprints upload "$work/bp" -b chain >/dev/null || fail "upload"
cfy deployments create -b chain chain-1 -i "ran_log=$work/ran.log" >/dev/null || fail "create"
# The install is started (and followed) in the background: alpha runs it.
cfy executions start install -d chain-1 >"$work/start.out" 2>&1 &
pids+=($!)
disown
execution=""
for _ in $(seq 1 100); do
  execution=$(cfy executions list -d chain-1 --json | items | grep '"workflow_id":"install"' |
    field id | head -n 1 || true)
  [[ -n $execution ]] && break
  sleep 0.1
done
[[ -n $execution ]] || fail "no install execution"

# The second manager shares everything; it may only take over once alpha's lease lapses.
start_manager beta
port_b=$port
# Two steps done on alpha, then it dies.
for _ in $(seq 1 150); do
  [[ -s $work/ran.log && $(wc -l <"$work/ran.log") -ge 2 ]] && break
  sleep 0.1
done
[[ -s $work/ran.log && $(wc -l <"$work/ran.log") -ge 2 ]] || fail "alpha did not run two steps"
done_before=$(cfy node-instances list -d chain-1 --json | items |
  grep -E '"state":"(created|configured|started)"' | field id || true)
kill -9 "$pid_a"
killed_at=$(date +%s.%N)

cfy profiles use 127.0.0.1 --rest-port "$port_b" -u admin -p failover-password >/dev/null
status=""
for _ in $(seq 1 600); do
  status=$(cfy executions get "$execution" --json | field status_display || true)
  [[ $status == completed || $status == failed || $status == cancelled ]] && break
  sleep 0.1
done
finished_at=$(date +%s.%N)
[[ $status == completed ]] || fail "the install ended '$status' after the failover"
started=$(cfy node-instances list -d chain-1 --json | grep -o '"state":"started"' | wc -l)
[[ $started -eq 5 ]] || fail "expected 5 started instances, got $started"
for id in $done_before; do
  count=$(grep -cx "$id" "$work/ran.log" || true)
  [[ $count -eq 1 ]] || fail "$id had succeeded before the kill and ran $count times"
done
echo "failover passed: $(echo "$done_before" | wc -w) steps done before the kill ran once;" \
  "install finished $(awk "BEGIN {print $finished_at - $killed_at}") s after the kill"
