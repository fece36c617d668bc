#!/usr/bin/env bash
# The main job from the README: set-up when needed, then the default hybrid failover scenario
# (or any testbed command given as arguments).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/setup.sh" >/dev/null || exit 1
cd "$here"
if [ "$#" -eq 0 ]; then
    set -- demo
fi
exec "$here/.venv/bin/testbed" "$@"
