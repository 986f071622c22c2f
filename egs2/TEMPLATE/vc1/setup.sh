#!/usr/bin/env bash
# Usage: egs2/TEMPLATE/vc1/setup.sh egs2/<corpus>/vc1
# Starts a new voice-conversion recipe: links the shared stage script and
# helpers, and copies the files a recipe adapts: path.sh, cmd.sh and
# conf/slurm.conf from this template, the configurations of the VCC2016
# recipe as a start, and a db.sh, run.sh and local/data.sh to fill in.
set -euo pipefail

[ $# -eq 1 ] || { echo "Usage: $0 egs2/<corpus>/vc1" >&2; exit 1; }
dir=$1
[ ! -e "${dir}" ] || { echo "$0: ${dir} already exists" >&2; exit 1; }
template=$(cd "$(dirname "$0")" && pwd)
example=${template}/../../vcc2016/vc1

mkdir -p "${dir}/conf" "${dir}/local"
# Relative links keep the recipe working wherever the repository is cloned.
rel=$(realpath --relative-to="${dir}" "${template}")
ln -s "${rel}/vc.sh" "${dir}/vc.sh"
ln -s "${rel}/utils" "${dir}/utils"
cp "${template}/path.sh" "${template}/cmd.sh" "${dir}/"
cp "${template}/conf/slurm.conf" "${dir}/conf/"
cp "${example}/conf/world.yaml" "${example}/conf/decode.yaml" "${dir}/conf/"
# The paper's configuration (for a GPU) and the one that converts after an
# hour on a CPU, laid out as in every recipe (TEMPLATE/vc1/README.md): the file in
# conf/tuning/, a relative link to it in conf/.
mkdir -p "${dir}/conf/tuning"
for name in train_cyclegan_vc.yaml train_cyclegan_vc_cpu.yaml; do
    cp "${example}/conf/tuning/${name}" "${dir}/conf/tuning/"
    ln -s "tuning/${name}" "${dir}/conf/${name}"
done
cat > "${dir}/db.sh" <<'EOS'
# Where the corpus is (override from the environment).
CORPUS=${CORPUS:-downloads/corpus}
EOS
cat > "${dir}/local/data.sh" <<'EOS'
#!/usr/bin/env bash
# Usage: local/data.sh --srcspk <src> --trgspk <trg>
# Must write data/{train,dev,eval}_<src> and data/{train,dev,eval}_<trg>
# (wav.scp, utt2spk, spk2utt; utterance ids <spk>_<sentence>; LC_ALL=C sorted).
# If the corpus has the VCC2016 layout, espnet2_cyclegan_vc.bin.prepare_vcc2016_data
# does it (see egs2/vcc2016/vc1/local/data.sh); otherwise write the files here.
set -euo pipefail
srcspk=
trgspk=
. utils/parse_options.sh
. ./path.sh
. ./db.sh
echo "local/data.sh: fill in the data preparation for ${CORPUS}" >&2
exit 1
EOS
cat > "${dir}/run.sh" <<'EOS'
#!/usr/bin/env bash
set -euo pipefail
./vc.sh \
    --srcspk SRC \
    --trgspk TRG \
    --world_conf conf/world.yaml \
    --train_config conf/train_cyclegan_vc.yaml \
    --inference_config conf/decode.yaml \
    "$@"
EOS
chmod +x "${dir}/run.sh" "${dir}/local/data.sh"
echo "Created ${dir}: fill in local/data.sh and db.sh, set --srcspk/--trgspk in run.sh"
