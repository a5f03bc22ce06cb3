#!/usr/bin/env bash
# Installs what a fresh machine with only Swift lacks: librdkafka's headers and library (the Kafka
# client), simdjson (the JSON parser on the services' hot path), and kcat (a command-line Kafka client the tests use to reach the embedded broker from
# another process). Nothing else. Safe to run again: it installs only what is missing.
set -euo pipefail

missing=()
dpkg -s librdkafka-dev >/dev/null 2>&1 || missing+=(librdkafka-dev)
dpkg -s libsimdjson-dev >/dev/null 2>&1 || missing+=(libsimdjson-dev)
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v curl >/dev/null 2>&1 || missing+=(curl)

if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The JSON Schema validator the Models tests run (draft 2020-12, date-time checks need rfc3339-validator).
python3 -c 'import jsonschema' 2>/dev/null || pip install --quiet jsonschema
python3 -c 'import rfc3339_validator' 2>/dev/null || pip install --quiet rfc3339-validator
# The AsyncAPI 3.0 validator the contract test runs (a strict object model of the specification).
python3 -c 'import yaml' 2>/dev/null || pip install --quiet pyyaml
python3 -c 'import asyncapi3' 2>/dev/null || pip install --quiet asyncapi3
# The deployment checks (scripts/check_deploy.py): the Compose Specification's JSON Schema as bundled
# by check-jsonschema, and the Kubernetes schemas bundled by kubernetes-validate (both offline).
python3 -c 'import check_jsonschema' 2>/dev/null || pip install --quiet check-jsonschema
python3 -c 'import kubernetes_validate' 2>/dev/null || pip install --quiet kubernetes-validate
