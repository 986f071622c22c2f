#!/usr/bin/env bash
# Usage: utils/split_scp.sh IN.scp OUT.1.scp [OUT.2.scp ... OUT.N.scp]
#
# Splits the lines of IN.scp into N contiguous, order-preserving pieces whose
# sizes differ by at most one (the first pieces get the extra lines).
# Contiguous pieces keep each job's share sorted when the input is sorted.
set -euo pipefail
prog=$(basename "$0")

if [ $# -lt 2 ]; then
    echo "Usage: $prog IN.scp OUT.1.scp [OUT.2.scp ... OUT.N.scp]" >&2
    exit 1
fi
in=$1
shift
[ -f "$in" ] || { echo "$prog: input file '$in' not found" >&2; exit 1; }

total=$(awk 'END { print NR }' <"$in")
if [ $# -gt "$total" ]; then
    # An empty piece would make a parallel job fail later, far from the cause.
    echo "$prog: cannot split $in ($total lines) into $# parts: more output files than lines" >&2
    exit 1
fi

# The input comes on stdin, and the output names are taken out of ARGV before
# awk would try to read them (or treat "a=b" names as assignments).
awk -v total="$total" '
    function limit_for(k) { return int(total / n) + (k <= total % n ? 1 : 0) }
    BEGIN {
        n = ARGC - 1
        for (i = 1; i <= n; i++) { out[i] = ARGV[i]; delete ARGV[i] }
        k = 1; written = 0; limit = limit_for(k)
    }
    {
        if (written == limit) { close(out[k]); k++; written = 0; limit = limit_for(k) }
        print > out[k]
        written++
    }' "$@" <"$in"
