#!/usr/bin/env bash
# The embedded default: a generated two-speaker corpus, CycleGAN-VC trained
# for a few minutes on a CPU, conversion and scores. ./run.sh (stages 1-6)
set -euo pipefail

./vc.sh \
    --srcspk MINIF \
    --trgspk MINIM \
    --nj 2 \
    --inference_nj 2 \
    --world_conf conf/world.yaml \
    --train_config conf/train_mini.yaml \
    --stop_stage 6 \
    "$@"
