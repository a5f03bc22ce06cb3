#!/usr/bin/env bash
# The main job: the whole suite on the embedded broker with a live view (`tandem demo`).
# Installs what is missing (librdkafka-dev, libsimdjson-dev, kcat, curl), builds in release, then
# runs the demo; arguments go to `tandem demo` (e.g. --duration 120 --rate 500, --plain for logs).
# Ctrl-C stops every process it started and prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
swift build -c release
bin=$(swift build -c release --show-bin-path)
exec "$bin/tandem" demo "$@"
