#!/usr/bin/env bash
# The test command from the README: set-up when needed, then the whole suite in three parts:
#   1. tests/unit, one process (no root, seconds: they fail fast);
#   2. tests/live in parallel (TESTBED_TEST_WORKERS, default 2: xdist, one worker per group of
#      tests that share a network or a run name);
#   3. the live tests marked "alone" (they measure the whole host or its CPU), one at a time.
# Extra arguments run pytest once with them instead (for example: scripts/test.sh tests/unit).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/setup.sh" >/dev/null || exit 1
cd "$here"
py="$here/.venv/bin/python"

# pytest exits 5 when nothing was collected (for example a -k that matches nothing): not a
# failure of the code, but say so loudly rather than pass silently.
part() {
    local name="$1"; shift
    "$py" -m pytest -q --durations=15 "$@"
    local rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "test.sh: no tests were collected ($name)" >&2
        return 1
    fi
    [ "$rc" -eq 0 ] || echo "test.sh: $name failed (pytest exit code $rc)" >&2
    return "$rc"
}

if [ "$#" -gt 0 ]; then
    part "pytest $*" "$@"
    exit $?
fi
failed=0
part "unit tests" tests/unit || failed=1
part "live tests" -n "${TESTBED_TEST_WORKERS:-2}" --dist loadgroup -m "not alone" tests/live || failed=1
part "live tests that run alone" -m alone tests/live || failed=1
exit "$failed"
