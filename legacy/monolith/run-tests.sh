#!/usr/bin/env bash
# Runs the monolith's tests. Django creates test_<db name> next to LEGACY_DATABASE_URL's database,
# loads packages/migrations/legacy/schema.sql into it (see bambu_monolith/test_runner.py), and drops it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
exec /usr/bin/python3 manage.py test --noinput -v 2 "$@"
