#!/usr/bin/env bash
# The test command: set up what is missing, check formatting, build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
swift format lint --strict --recursive Package.swift Shared Services Tests
swift build --build-tests
# Unit and embedded-broker tests in parallel; then the tests that start the real executables as
# separate processes (each with its own broker, group joins and kill -9), one at a time, so that
# on a 2-core machine they do not starve each other's group joins and time out.
swift test --skip-build --skip IntegrationTests
swift test --skip-build --no-parallel --filter IntegrationTests
