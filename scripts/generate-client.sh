#!/usr/bin/env bash
# The typed Python client in clients/python, generated from the OpenAPI document the server
# serves (mailer/api/openapi/*.yaml) with openapi-python-client (requirements-dev.txt).
#   scripts/generate-client.sh           regenerate clients/python
#   scripts/generate-client.sh --check   fail when clients/python differs from the document
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"  # the generator's post hooks run this project's ruff

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python -c 'import json, sys; from mailer.api.spec import document; json.dump(document(), sys.stdout, indent=1, sort_keys=True)' >"$work/openapi.json"
openapi-python-client generate --path "$work/openapi.json" --config clients/python-config.yml \
  --meta setup --output-path "$work/python" --fail-on-warning >"$work/log" 2>&1 || {
  cat "$work/log" >&2
  exit 1
}
rm -rf "$work/python/.ruff_cache"

if [[ "${1:-}" == "--check" ]]; then
  if ! diff -ru --exclude=__pycache__ clients/python "$work/python"; then
    echo "clients/python is out of date: run scripts/generate-client.sh and commit it" >&2
    exit 1
  fi
  echo "clients/python matches the OpenAPI document"
else
  rm -rf clients/python
  cp -r "$work/python" clients/python
  echo "clients/python regenerated"
fi
