#!/usr/bin/env bash
# Usage: utils/utt2spk_to_spk2utt.sh [UTT2SPK] > spk2utt
#
# Converts "utt spk" lines (file argument or stdin) into "spk utt1 utt2 ..."
# lines.  Speakers come out in LC_ALL=C order, as every Kaldi-style list must
# be sorted that way; each speaker's utterances keep their input order.
set -euo pipefail

if [ $# -gt 1 ]; then
    echo "Usage: $(basename "$0") [UTT2SPK] > spk2utt" >&2
    exit 1
fi
awk 'NF > 0 { utts[$2] = utts[$2] " " $1 } END { for (s in utts) print s utts[s] }' "${1:--}" |
    LC_ALL=C sort -k1,1
