#!/usr/bin/env bash
# Fresh machine -> trained, tracked and registered toy GAN, on the embedded default
# (local Ray, local MLflow store under ./ganforge-runs, no servers to start first).
set -euo pipefail
cd "$(dirname "$0")"

python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e .
.venv/bin/ganforge train configs/toy/ring8.yaml "$@"
