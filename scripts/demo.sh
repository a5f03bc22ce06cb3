#!/usr/bin/env bash
# The main job, for now: start the embedded broker with every Tandem topic, show that an ordinary
# Kafka client (kcat) reaches it, then measure the Kafka layer against plain C librdkafka.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
swift build -c release --product tandem
tandem=.build/release/tandem

bootstrap_file=$(mktemp -u /tmp/tandem-bootstrap.XXXXXX)
"$tandem" dev-broker --partitions 6 --bootstrap-file "$bootstrap_file" >/dev/null &
broker=$!
trap 'kill -TERM $broker 2>/dev/null || true; wait $broker 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$bootstrap_file" ] && break; sleep 0.1; done
bootstrap=$(cat "$bootstrap_file")

echo "== the embedded broker at $bootstrap, as kcat sees it"
kcat -L -b "$bootstrap" | grep -E "brokers:|topics:|^  topic"

echo
echo "== tandem bench kafka (the wrapper against a minimal C librdkafka loop, same run)"
"$tandem" bench kafka "$@"
