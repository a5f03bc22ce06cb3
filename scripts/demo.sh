#!/usr/bin/env bash
# The main job, for now: start the embedded broker with every Tandem topic, show that an ordinary
# Kafka client (kcat) reaches it, start the four services against it (health, metrics, graceful
# stop), then measure the Kafka layer against plain C librdkafka and the service kit's loop and codec.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
swift build -c release
bin=$(swift build -c release --show-bin-path)

bootstrap_file=$(mktemp -u /tmp/tandem-bootstrap.XXXXXX)
"$bin/tandem" dev-broker --partitions 6 --bootstrap-file "$bootstrap_file" >/dev/null &
broker=$!
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    kill -TERM $broker 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do [ -s "$bootstrap_file" ] && break; sleep 0.1; done
bootstrap=$(cat "$bootstrap_file")

echo "== the embedded broker at $bootstrap, as kcat sees it"
kcat -L -b "$bootstrap" | grep -E "brokers:|topics:|^  topic"

echo
echo "== the four services against it"
port=18081
for service in intake segmentation leads kpi; do
    KAFKA_BROKERS=$bootstrap TANDEM_HTTP_PORT=$port TANDEM_LOG_LEVEL=warning "$bin/tandem-$service" &
    pids+=($!)
    port=$((port + 1))
done
port=18081
for service in intake segmentation leads kpi; do
    for _ in $(seq 1 300); do
        curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
        sleep 0.1
    done
    printf '%-13s live: %s  ready: %s  metrics lines: %s\n' "$service" \
        "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/live")" \
        "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready")" \
        "$(curl -s "http://127.0.0.1:$port/metrics" | grep -c '^tandem_' || true)"
    port=$((port + 1))
done
for pid in "${pids[@]}"; do kill -TERM "$pid"; done
for pid in "${pids[@]}"; do wait "$pid" && echo "service $pid stopped cleanly (exit 0)"; done
pids=()

echo
echo "== tandem bench kafka (the wrapper against a minimal C librdkafka loop, same run)"
"$bin/tandem" bench kafka "$@"
echo
echo "== tandem bench kit (the processing loop against the bare passthrough; the JSON codec against Foundation)"
"$bin/tandem" bench kit "$@"
