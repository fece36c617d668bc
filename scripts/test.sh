#!/usr/bin/env bash
# The test command from the README: set-up when needed, then the whole suite (unit + integration).
# Extra arguments go to pytest (for example: scripts/test.sh -m "not integration").
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/setup.sh" >/dev/null || exit 1
cd "$here"
"$here/.venv/bin/python" -m pytest -q --durations=15 "$@"
rc=$?
# pytest exits 5 when nothing was collected (for example a -k that matches nothing): not a failure
# of the code, but say so loudly rather than pass silently.
if [ "$rc" -eq 5 ]; then
    echo "test.sh: no tests were collected" >&2
    exit 1
fi
exit "$rc"
