#!/usr/bin/env bash
# Usage: utils/fix_data_dir.sh DATA_DIR
#
# Makes a Kaldi-style data directory consistent: sorts wav.scp, utt2spk and
# whichever of utt2num_frames, text, segments, feats.scp exist (LC_ALL=C, by
# key; blank lines and repeated keys dropped), keeps only the utterances that
# all of those files know about, and regenerates spk2utt.  What was removed,
# and which file lacked it, is reported on stderr.
# If segments exists, wav.scp is keyed by recording, so an utterance counts as
# present in wav.scp when its recording is, and unused recordings are dropped.
set -euo pipefail
prog=$(basename "$0")
utils=$(cd "$(dirname "$0")" && pwd)
die() { echo "$prog: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "Usage: $prog DATA_DIR"
dir=$1
for f in wav.scp utt2spk; do [ -f "$dir/$f" ] || die "$dir/$f not found"; done

# Everything is built in a scratch dir inside DATA_DIR and moved into place
# only at the end: same filesystem, so each mv is an atomic rename and an
# interrupted run never leaves a truncated file behind.
tmp=$(mktemp -d "$dir/.fix_data_dir.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/keys" "$tmp/new"

count() { awk 'NF { n++ } END { print n + 0 }' "$1"; }

lists=()
for f in wav.scp utt2spk utt2num_frames text segments feats.scp; do
    [ -f "$dir/$f" ] || continue
    lists+=("$f")
    awk 'NF' "$dir/$f" | LC_ALL=C sort -k1,1 -u >"$tmp/$f"
    dups=$(($(count "$dir/$f") - $(count "$tmp/$f")))
    [ "$dups" -eq 0 ] || echo "$prog: $f: dropped $dups lines with a repeated key" >&2
    awk '{ print $1 }' "$tmp/$f" >"$tmp/keys/$f"
done
if [ -f "$tmp/segments" ]; then
    awk '{ print $2, $1 }' "$tmp/segments" | "$utils/filter_scp.sh" "$tmp/wav.scp" - |
        awk '{ print $2 }' >"$tmp/keys/wav.scp"
fi

# An utterance survives if its key is in every keys/* file; for the others,
# count per file how many it lacked, so the report says where to look.
awk -v prog="$prog" '
    { if (!($1 in n)) total++; n[$1]++; has[FILENAME, $1] = 1 }
    END {
        for (k in n) {
            if (n[k] == ARGC - 1) { print k; continue }
            removed++
            for (i = 1; i < ARGC; i++) if (!((ARGV[i], k) in has)) miss[i]++
        }
        for (i = 1; i < ARGC; i++) if (miss[i]) {
            name = ARGV[i]; sub(/.*\//, "", name)
            printf "%s: %d utterances missing from %s\n", prog, miss[i], name | "cat 1>&2"
        }
        printf "%s: kept %d of %d utterances (%d removed)\n", prog, total - removed, total, removed | "cat 1>&2"
    }' "$tmp"/keys/* | LC_ALL=C sort >"$tmp/keep"
[ -s "$tmp/keep" ] || die "no utterance is present in all files; $dir left unchanged"

for f in "${lists[@]}"; do
    if [ "$f" = wav.scp ] && [ -f "$tmp/segments" ]; then continue; fi
    "$utils/filter_scp.sh" "$tmp/keep" "$tmp/$f" >"$tmp/new/$f"
done
if [ -f "$tmp/segments" ]; then
    awk '{ print $2 }' "$tmp/new/segments" >"$tmp/recs"
    "$utils/filter_scp.sh" "$tmp/recs" "$tmp/wav.scp" >"$tmp/new/wav.scp"
    n=$(($(count "$tmp/wav.scp") - $(count "$tmp/new/wav.scp")))
    [ "$n" -eq 0 ] || echo "$prog: wav.scp: dropped $n recordings that no kept segment uses" >&2
fi
"$utils/utt2spk_to_spk2utt.sh" "$tmp/new/utt2spk" >"$tmp/new/spk2utt"

for f in "${lists[@]}" spk2utt; do mv -f "$tmp/new/$f" "$dir/$f"; done
