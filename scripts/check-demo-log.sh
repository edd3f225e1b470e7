#!/usr/bin/env bash
# Check a captured `make demo` log: both parts ran to their summaries and the last line is the
# training summary's verdict. CI runs this after `make demo`, so a demo that stops early (as it
# once did when a pipeline's reader exited first and SIGPIPE ended the demo) fails the build even
# if make's exit status were lost.
# Usage: scripts/check-demo-log.sh LOG
set -euo pipefail

log=${1:?usage: scripts/check-demo-log.sh LOG}
[ -s "$log" ] || { echo "check-demo-log: $log is missing or empty" >&2; exit 1; }

fail=0
need() { # need DESCRIPTION EXTENDED-REGEX: some line of the log must match
    if ! grep -Eq -- "$2" "$log"; then
        echo "check-demo-log: missing $1 (a line matching /$2/)" >&2
        fail=1
    fi
}
need "the CLI part's verdict" '^demo OK$'
need "the training table" '^ +1 +[0-9.]+ +[0-9.]+% +[0-9.]+%'
need "the test accuracy in the summary" '^  test accuracy +[0-9.]+%$'
need "the data-only rates in the summary" 'samples/s \(data only\)$'

last=$(awk 'NF { line = $0 } END { print line }' "$log")
if [ "$last" != "demo_train OK" ]; then
    echo "check-demo-log: the last line is '$last', not 'demo_train OK'" >&2
    fail=1
fi
[ "$fail" -eq 0 ] && echo "check-demo-log: make demo ran to its final summary"
exit "$fail"
