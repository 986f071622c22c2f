#!/usr/bin/env bash
# VCC2016, CycleGAN-VC (Kaneko & Kameoka 2017): ./run.sh --stage 1 --stop_stage 6
# Any of the 25 source/target pairs: --srcspk {SF1,SF2,SF3,SM1,SM2} --trgspk {TF1,TF2,TM1,TM2,TM3}
# On a CPU (about an hour of training, see RESULTS.md): add
#   --train_config conf/train_cyclegan_vc_cpu.yaml --inference_model valid.generator_cycle_loss.ave_80best.pth
# and --learning_curve true for the quality of every epoch model.
set -euo pipefail

# Options given to this script come last, so they override these.
./vc.sh \
    --srcspk SF1 \
    --trgspk TM3 \
    --local_data_opts "--num_dev 5" \
    --world_conf conf/world.yaml \
    --train_config conf/train_cyclegan_vc.yaml \
    --inference_config conf/decode.yaml \
    --corpus_name "VCC2016 (Voice Conversion Challenge 2016, DOI 10.7488/ds/1575; cite Toda et al., Interspeech 2016)" \
    --corpus_license "ODC-By 1.0 (Open Data Commons Attribution), as the DataShare item states" \
    "$@"
