#!/usr/bin/env bash
# Usage: utils/validate_data_dir.sh DATA_DIR
#
# Checks that a Kaldi-style data directory is usable before a long stage runs
# on it: wav.scp, utt2spk and spk2utt exist, are non-empty, sorted by key in
# LC_ALL=C order with unique keys; wav.scp and utt2spk cover the same
# utterances (segments takes wav.scp's place when present); spk2utt matches
# utt2spk; and each plain "utt path" line of wav.scp points to an existing
# file.  Optional text, feats.scp and utt2num_frames are checked likewise.
# On the first problem, prints the file and line and exits 1.
set -euo pipefail
prog=$(basename "$0")
utils=$(cd "$(dirname "$0")" && pwd)
die() { echo "$prog: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "Usage: $prog DATA_DIR"
dir=$1
[ -d "$dir" ] || die "$dir is not a directory"

# check_list FILE MIN_FIELDS [MAX_FIELDS]: non-empty, sorted, unique keys.
# Keys are compared as strings ("" appended) since awk would otherwise compare
# numeric-looking keys as numbers, unlike sort.
check_list() {
    local f=$dir/$1 msg
    [ -s "$f" ] || die "$f is missing or empty"
    msg=$(LC_ALL=C awk -v min="$2" -v max="${3:-0}" '
        NF < min || (max && NF > max) { print "line " NR " should have " min (max == min ? "" : "+") " fields: " $0; exit 1 }
        { key = $1 "" }
        NR > 1 && key < prev { print "not sorted (use LC_ALL=C sort -k1,1) at line " NR ": " $0; exit 1 }
        NR > 1 && key == prev { print "duplicate key at line " NR ": " $0; exit 1 }
        { prev = key }' "$f") || die "$f: $msg"
}

# same_keys A B: every key of A is a key of B and vice versa.
same_keys() {
    local a b msg
    for a in "$1" "$2"; do
        b=$([ "$a" = "$1" ] && echo "$2" || echo "$1")
        msg=$(awk 'NR == FNR { k[$1]; next }
                   !($1 in k) { print "line " FNR ": " $0; exit 1 }' "$dir/$b" "$dir/$a") ||
            die "$dir/$a: $msg: utterance has no entry in $b"
    done
}

check_list wav.scp 2
check_list utt2spk 2 2
check_list spk2utt 2
if [ -f "$dir/segments" ]; then
    check_list segments 4 4
    same_keys segments utt2spk
    msg=$(awk 'NR == FNR { k[$1]; next } !($2 in k) { print "line " FNR ": " $0; exit 1 }' \
        "$dir/wav.scp" "$dir/segments") || die "$dir/segments: $msg: recording not in wav.scp"
else
    same_keys wav.scp utt2spk
fi
for f in text feats.scp utt2num_frames; do
    if [ -e "$dir/$f" ]; then check_list "$f" 1; same_keys "$f" utt2spk; fi
done

# spk2utt must list exactly utt2spk's (utterance, speaker) pairs, each once.
msg=$(awk '
    FNR == 1 { file++ }
    file == 1 { spk[$1] = $2; order[++n] = $1; next }
    {
        for (i = 2; i <= NF; i++) {
            if (!($i in spk)) { bad = "line " FNR ": utterance " $i " is not in utt2spk"; exit }
            if (spk[$i] != $1) { bad = "line " FNR ": utterance " $i " belongs to speaker " spk[$i] " in utt2spk"; exit }
            if ($i in seen) { bad = "line " FNR ": utterance " $i " is listed twice"; exit }
            seen[$i] = 1
        }
    }
    END {
        for (i = 1; bad == "" && i <= n; i++)
            if (!(order[i] in seen)) bad = "utterance " order[i] " of utt2spk is missing"
        if (bad != "") { print bad; exit 1 }
    }' "$dir/utt2spk" "$dir/spk2utt") || die "$dir/spk2utt: $msg (regenerate it with utils/utt2spk_to_spk2utt.sh)"

# Lines with more than two fields (or ending in "|") are commands, not paths.
n=0
while read -r key path extra; do
    n=$((n + 1))
    if [ -z "$extra" ] && [[ "$path" != *"|" ]] && [ ! -e "$path" ]; then
        die "$dir/wav.scp: line $n: file not found: $key $path"
    fi
done <"$dir/wav.scp"

echo "$dir: $(awk 'END { print NR }' "$dir/utt2spk") utterances, $(awk 'END { print NR }' "$dir/spk2utt") speakers"
