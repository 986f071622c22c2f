#!/usr/bin/env bash
# Usage: local/data_text.sh SENTENCES_TXT DATA_DIR...
# Writes DATA_DIR/text (Kaldi style: "<utt> <transcript>", in wav.scp's order)
# for each data dir from the mini corpus's sentences.txt (utt_id, speakers,
# text; tab separated), matching "<spk>_<sentence id>" utterances by sentence
# id. Stage 6 reads it as the reference of the error rates. An utterance whose
# sentence is not in the corpus text stops it, naming both files.
set -euo pipefail
[ $# -ge 2 ] || { echo "Usage: $0 SENTENCES_TXT DATA_DIR..." >&2; exit 2; }
sentences=$1; shift
[ -f "${sentences}" ] || { echo "$0: ${sentences} does not exist" >&2; exit 1; }
for dir in "$@"; do
    [ -f "${dir}/wav.scp" ] || { echo "$0: ${dir}/wav.scp does not exist" >&2; exit 1; }
    LC_ALL=C awk -v sentences="${sentences}" '
        NR == FNR { if (FNR > 1) { split($0, f, "\t"); text[f[1]] = f[3] }; next }
        {
            id = $1; sub(/^.*_/, "", id)
            if (!(id in text)) { print FILENAME ": " $1 ": sentence " id " is not in " sentences > "/dev/stderr"; exit 1 }
            print $1 " " text[id]
        }' "${sentences}" "${dir}/wav.scp" > "${dir}/text.tmp" || { rm -f "${dir}/text.tmp"; exit 1; }
    mv "${dir}/text.tmp" "${dir}/text"
done
