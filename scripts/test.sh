#!/usr/bin/env bash
# The test command: set up what is missing, check formatting, build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
swift format lint --strict --recursive Package.swift Shared Services Tests
swift build --build-tests
swift test --skip-build
