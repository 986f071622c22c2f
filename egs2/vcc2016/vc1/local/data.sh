#!/usr/bin/env bash
# Usage: local/data.sh --srcspk SF1 --trgspk TM3 [--num_dev 5]
# Data dirs data/{train,dev,eval}_<spk> for one VCC2016 speaker pair; see
# espnet2_cyclegan_vc/bin/prepare_vcc2016_data.py for the split.
set -euo pipefail
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (local/data.sh) $*"; }

srcspk=
trgspk=
num_dev=5
. utils/parse_options.sh
. ./path.sh
. ./db.sh

if [ "${VCC2016}" = downloads/vcc2016 ] && [ ! -f downloads/vcc2016/.evaluation_all.extracted ]; then
    log "Downloading VCC2016 into downloads/vcc2016 (set VCC2016 in db.sh to use a local copy)"
    local/download.sh downloads/vcc2016
fi
if [ ! -d "${VCC2016}" ]; then
    log "Error: VCC2016=${VCC2016} does not exist (set it in db.sh or the environment)"
    exit 1
fi
python3 -m espnet2_cyclegan_vc.bin.prepare_vcc2016_data --db "${VCC2016}" \
    --srcspk "${srcspk}" --trgspk "${trgspk}" --num_dev "${num_dev}" --outdir data
