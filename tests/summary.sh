#!/bin/sh
# summary.sh BUILD_DIR... — add up the TAP results automake's tap-driver left
# in *.trs files and print the closing line CI reads:
#   N passed, N failed, N skipped
# Exits 1 when anything failed or errored, or when no result was found.
set -u
passed=0 failed=0 skipped=0
for dir in "$@"; do
    for trs in $(find "$dir" -name '*.trs' 2>/dev/null); do
        p=$(grep -c '^:test-result: PASS' "$trs")
        f=$(grep -c -E '^:test-result: (FAIL|ERROR|XPASS)' "$trs")
        s=$(grep -c '^:test-result: SKIP' "$trs")
        passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
    done
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
