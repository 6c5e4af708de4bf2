#!/usr/bin/env bash
# Starts PostgreSQL and RabbitMQ on loopback for the integration tests and prints the
# environment that points the tests at them (eval "$(scripts/start-test-servers.sh)").
# Idempotent: servers already running are left as they are.
set -euo pipefail
# Only the export lines may reach stdout (the caller evals it): everything the servers' tools
# print (e.g. pg_ctlcluster's "Removed stale pid file") goes to stderr.
# The servers are started with fd 3 closed: a daemon that inherited it would hold the caller's
# command substitution open forever.
exec 3>&1 1>&2

log() { echo "$*" >&2; }

# --- PostgreSQL: Debian's cluster, a role and a database for the tests ---
pg_version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}' | grep -qx "${pg_version}/main"; then
  pg_createcluster "$pg_version" main >/dev/null
fi
if ! pg_lsclusters -h | awk '$1=="'"$pg_version"'" && $2=="main" {print $4}' | grep -qx online; then
  pg_ctlcluster "$pg_version" main start 3>&-
fi
pg_port=$(pg_lsclusters -h | awk '$1=="'"$pg_version"'" && $2=="main" {print $3}')
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p "$pg_port" && break
  sleep 1
done
pg_isready -q -h 127.0.0.1 -p "$pg_port" || { log "PostgreSQL did not start"; exit 1; }
psql_admin() { su postgres -c "psql -p $pg_port -v ON_ERROR_STOP=1 -qtAc \"$1\""; }
if [[ -z "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname='cloudify'")" ]]; then
  psql_admin "CREATE ROLE cloudify LOGIN SUPERUSER PASSWORD 'cloudify'" >/dev/null
fi
if [[ -z "$(psql_admin "SELECT 1 FROM pg_database WHERE datname='cloudify_test'")" ]]; then
  psql_admin "CREATE DATABASE cloudify_test OWNER cloudify" >/dev/null
fi
log "PostgreSQL ${pg_version} ready on 127.0.0.1:${pg_port}"

# --- RabbitMQ: a node on loopback with a user and a vhost for the tests ---
export RABBITMQ_NODENAME=rabbit@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
if ! rabbitmqctl -q -n "$RABBITMQ_NODENAME" status >/dev/null 2>&1; then
  su rabbitmq -s /bin/sh -c "RABBITMQ_NODENAME=$RABBITMQ_NODENAME RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    HOME=/var/lib/rabbitmq rabbitmq-server -detached" >/dev/null 2>&1 3>&-
fi
# -detached returns before the node answers; wait for it to be reachable, then booted.
for _ in $(seq 1 120); do
  rabbitmqctl -q -n "$RABBITMQ_NODENAME" ping >/dev/null 2>&1 && break
  sleep 1
done
rabbitmqctl -q -n "$RABBITMQ_NODENAME" await_startup --timeout 120 >/dev/null
if ! rabbitmqctl -q -n "$RABBITMQ_NODENAME" list_users | awk '{print $1}' | grep -qx cloudify; then
  rabbitmqctl -q -n "$RABBITMQ_NODENAME" add_user cloudify cloudify >/dev/null
fi
# A second vhost for the multi-manager test: its managers consume the shared management queues.
# Both start empty: queues an earlier version declared differently would refuse the tests.
for vhost in cloudify_test cloudify_test_multi; do
  if rabbitmqctl -q -n "$RABBITMQ_NODENAME" list_vhosts | grep -qx "$vhost"; then
    rabbitmqctl -q -n "$RABBITMQ_NODENAME" delete_vhost "$vhost" >/dev/null
  fi
  rabbitmqctl -q -n "$RABBITMQ_NODENAME" add_vhost "$vhost" >/dev/null
  rabbitmqctl -q -n "$RABBITMQ_NODENAME" set_permissions -p "$vhost" cloudify '.*' '.*' '.*' >/dev/null
  # Version 2 classic queues (RabbitMQ 3.10+) store persistent messages at about twice the rate
  # of version 1, the default before 4.0; deploy/README.md recommends the same policy.
  rabbitmqctl -q -n "$RABBITMQ_NODENAME" set_policy -p "$vhost" --apply-to queues \
    cloudify-queue-version '.*' '{"queue-version":2}' >/dev/null
done
log "RabbitMQ ready on 127.0.0.1:5672"

echo >&3 "export CLOUDIFY_TEST_POSTGRES_URL='postgresql://cloudify:cloudify@127.0.0.1:${pg_port}/cloudify_test'"
echo >&3 "export CLOUDIFY_TEST_AMQP_URL='amqp://cloudify:cloudify@127.0.0.1:5672/cloudify_test'"
echo >&3 "export CLOUDIFY_TEST_AMQP_MULTI_URL='amqp://cloudify:cloudify@127.0.0.1:5672/cloudify_test_multi'"
echo >&3 "export RABBITMQ_NODENAME=rabbit@localhost"
