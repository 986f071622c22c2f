#!/usr/bin/env bash
# Usage: utils/filter_scp.sh [--exclude] IDLIST [IN.scp]
#
# Prints the lines of IN.scp (default: stdin) whose first field is a first
# field of IDLIST -- or, with --exclude, is not.  IN.scp's order is kept.
set -euo pipefail
prog=$(basename "$0")

exclude=0
if [ "${1:-}" = --exclude ]; then exclude=1; shift; fi
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "Usage: $prog [--exclude] IDLIST [IN.scp]" >&2
    exit 1
fi
for f in "$@"; do
    [ "$f" = - ] || [ -f "$f" ] || { echo "$prog: file '$f' not found" >&2; exit 1; }
done

# IDLIST is read with getline in BEGIN (name passed through the environment,
# which awk does not escape-process) instead of the usual NR==FNR idiom, which
# misfires when IDLIST is empty.
IDLIST=$1 awk -v exclude="$exclude" '
    BEGIN {
        f = ENVIRON["IDLIST"]
        while ((getline line < f) > 0) { split(line, w); if (w[1] != "") keep[w[1]] = 1 }
        close(f)
    }
    (($1 in keep) ? 1 : 0) != exclude' "${2:--}"
