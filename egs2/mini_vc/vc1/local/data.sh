#!/usr/bin/env bash
# Usage: local/data.sh [--seed 0] [--num_train 40] [--num_eval 8] [--num_dev 3]
# Generates the two-speaker mini corpus (MINIF -> MINIM, see
# local/mini_corpus/mini.py) and its data dirs, split as VCC2016 is:
# disjoint training sentences, parallel evaluation sentences; each data dir
# gets its transcripts in a Kaldi "text" file (local/data_text.sh).
set -euo pipefail
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (local/data.sh) $*"; }

srcspk=MINIF
trgspk=MINIM
seed=0
num_train=40
num_eval=8
num_dev=3
. utils/parse_options.sh
. ./path.sh
. ./db.sh

log "Generating the mini corpus in ${MINI_VC} (skipped when already complete)"
python3 local/make_mini_corpus.py --outdir "${MINI_VC}" --seed "${seed}" \
    --num_train "${num_train}" --num_eval "${num_eval}"
python3 -m espnet2_cyclegan_vc.bin.prepare_vcc2016_data --db "${MINI_VC}" \
    --speakers MINIF MINIM --srcspk "${srcspk}" --trgspk "${trgspk}" \
    --src_train_ids "100001-$((100000 + num_train))" \
    --trg_train_ids "$((100001 + num_train))-$((100000 + 2 * num_train))" \
    --eval_ids "200001-$((200000 + num_eval))" --num_dev "${num_dev}" --dev_from own --outdir data
# Reference transcripts (Kaldi "text") of every data dir, for stage 6's error rates.
local/data_text.sh "${MINI_VC}/sentences.txt" \
    data/{train,dev,eval}_"${srcspk}" data/{train,dev,eval}_"${trgspk}"
