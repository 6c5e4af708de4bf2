#!/usr/bin/env bash
# The programs together over RabbitMQ: cloudify-manager, a cloudify-agent process, cfy and ctx.
# `cfy install` of a blueprint whose host records its agent (a central script sets the
# cloudify_agent runtime property) runs the contained node's host_agent script on the agent:
# in the agent's work dir, its ctx calls reaching the manager through the REST API.
# With --restart-broker, RabbitMQ is restarted while the agent runs that script (and the script
# ends while the broker is down): the manager and the agent reconnect and the install completes.
#   agent_test.sh <folder of cloudify-manager, cloudify-agent, cfy and ctx> [--restart-broker]
# Needs CLOUDIFY_TEST_AMQP_URL; without it it skips (exit 77), unless CLOUDIFY_REQUIRE_SERVERS=1.
set -euo pipefail
bin=$1
restart=${2:-}
if [[ -z ${CLOUDIFY_TEST_AMQP_URL:-} ]]; then
  if [[ ${CLOUDIFY_REQUIRE_SERVERS:-0} == 1 ]]; then
    echo "FAILED: CLOUDIFY_TEST_AMQP_URL is not set" >&2
    exit 1
  fi
  echo "skipped: no RabbitMQ URL"
  exit 77
fi
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAILED: $*" >&2
  for log in "$work"/*.log; do
    echo "--- $log" >&2
    tail -n 30 "$log" >&2 || true
  done
  exit 1
}

"$bin/cloudify-manager" --listen 127.0.0.1:0 --data-dir "$work/data" \
  --bus-url "$CLOUDIFY_TEST_AMQP_URL" --manager-name "agent-test-$$-$RANDOM" \
  --agent-ping-timeout-seconds 5 --admin-password agent-password >"$work/manager.log" 2>&1 &
pids+=($!)
url=""
for _ in $(seq 1 300); do
  url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$work/manager.log" | head -n 1 || true)
  [[ -n $url ]] && break
  sleep 0.05
done
[[ -n $url ]] || fail "the manager did not start"

agent="agent-$$-$RANDOM"
hold=""
if [[ $restart == --restart-broker ]]; then
  hold="$work/hold"
  touch "$hold"
fi
# No REST credentials: the agent calls the API with each task's execution token.
HOLD_FILE=$hold "$bin/cloudify-agent" --name "$agent" --bus-url "$CLOUDIFY_TEST_AMQP_URL" --rest-url "$url" \
  --work-dir "$work/agent" >"$work/agent.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 200); do
  grep -q consuming "$work/agent.log" && break
  sleep 0.05
done
grep -q consuming "$work/agent.log" || fail "the agent did not start"

mkdir -p "$work/bp/scripts"
cat >"$work/bp/scripts/vm.sh" <<'SCRIPT'
#!/bin/sh
ctx instance runtime-properties cloudify_agent "@{\"name\": \"$agent_name\", \"queue\": \"$agent_name\"}"
SCRIPT
cat >"$work/bp/scripts/app.sh" <<'SCRIPT'
#!/bin/sh
set -e
if [ -n "$HOLD_FILE" ]; then
  touch "$HOLD_FILE.started"
  while [ -e "$HOLD_FILE" ]; do sleep 0.05; done
fi
ctx instance runtime-properties ran_in "$PWD"
ctx instance runtime-properties host "$(ctx node properties port)"
SCRIPT
cat >"$work/bp/blueprint.yaml" <<'YAML'
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - http://cloudify.co/spec/cloudify/6.4.0/types.yaml
inputs:
  agent_name: {type: string}
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: provided}}
    interfaces:
      cloudify.interfaces.lifecycle:
        create:
          implementation: scripts/vm.sh
          executor: central_deployment_agent
          inputs: {agent_name: {get_input: agent_name}}
  app:
    type: cloudify.nodes.WebServer
    properties: {port: 8080}
    interfaces:
      cloudify.interfaces.lifecycle:
        create:
          implementation: scripts/app.sh
          executor: host_agent
    relationships:
      - {type: cloudify.relationships.contained_in, target: vm}
YAML

export CFY_WORKDIR=$work PATH="$bin:$PATH"
cfy profiles use 127.0.0.1 --rest-port "${url##*:}" -u admin -p agent-password >/dev/null
cfy install "$work/bp" -b agent-bp -d agent-dep -i "agent_name=$agent" >"$work/install.log" 2>&1 &
install=$!
if [[ -n $hold ]]; then
  for _ in $(seq 1 600); do
    [[ -e $hold.started ]] && break
    sleep 0.1
  done
  [[ -e $hold.started ]] || fail "the app script did not start on the agent"
  node=${RABBITMQ_NODENAME:-rabbit@localhost}
  rabbitmqctl -q -n "$node" stop_app >"$work/rabbitmqctl.log" 2>&1 || fail "stopping RabbitMQ"
  rm -f "$hold"  # the script ends while the broker is down: its reply waits for it
  sleep 2
  rabbitmqctl -q -n "$node" start_app >>"$work/rabbitmqctl.log" 2>&1 || fail "starting RabbitMQ"
fi
wait "$install" || fail "cfy install"
instances=$(cfy node-instances list -d agent-dep --json)
started=$(echo "$instances" | grep -o '"state":"started"' | wc -l)
[[ $started -eq 2 ]] || fail "expected 2 started instances, got $started"
app=$(echo "$instances" | grep -oE '\{[^{}]*"node_id":"app"[^{}]*\}' | grep -oE '"id":"[^"]*"' |
  cut -d'"' -f4 | head -n 1)
[[ -n $app ]] || fail "no app instance in: $instances"
properties=$(cfy node-instances get "$app")
echo "$properties" | grep -q "$work/agent/" || fail "the app script did not run on the agent: $properties"
echo "$properties" | grep -q 'Value: 8080' ||
  fail "the app script's ctx calls did not reach the manager: $properties"
echo "agent test passed: install ran the host_agent script on agent $agent${hold:+ across a broker restart}"
