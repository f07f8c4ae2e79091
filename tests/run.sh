#!/usr/bin/env bash
# Set up everything the tests need in .venv (the package, pytest, act, zizmor, check-jsonschema),
# then run the whole suite. Extra arguments go to pytest. This is the README's test command and
# what .ci/run calls.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
fi
.venv/bin/uv pip install --quiet --python .venv/bin/python -e '.[test]'

# Lint and format are part of the suite: a change that ruff rejects fails here, before any test runs.
.venv/bin/ruff check --quiet src tests benchmarks examples
.venv/bin/ruff format --check --quiet src tests benchmarks examples

exec .venv/bin/python -m pytest "$@"
