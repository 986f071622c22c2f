"""The VC task through ESPnet's real entry points, on real VCC2016 speech.

collect-stats -> train -> resume -> converter, each as the recipe runs them
(`python -m espnet2_cyclegan_vc.bin.<...>`), with a tiny network so it runs in
about a minute on two CPU cores.
"""

import json
import os
import re
import subprocess
import sys

import kaldiio
import numpy as np
import pytest
import soundfile
import torch
import yaml

from conftest import REPO_ROOT, data_args, extract_training_speakers, needs_vcc2016, run, vcc2016_root
from espnet2_cyclegan_vc.bin.vc_inference import VoiceConverter
from espnet2_cyclegan_vc.fileio import read_scp
from espnet2_cyclegan_vc.world import analyze

pytestmark = [needs_vcc2016, pytest.mark.slow]

TINY = {
    "generator_conf": dict(first_channels=8, downsample_channels=[16, 32], residual_hidden_channels=64,
                           num_residual_blocks=1, upsample_channels=[64, 32]),
    "discriminator_conf": dict(first_channels=8, downsample_channels=[16, 32, 64]),
    "segment_frames": 64,
    "num_workers": 0,
    "world_conf": {"f0_method": "dio"},
}
IDENTITY_UPDATES = 4
ITERS_PER_EPOCH = 3


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Features of 4 utterances per speaker, extracted by the recipe's tool."""
    root = tmp_path_factory.mktemp("vc_task")
    with open(root / "world.yaml", "w") as f:
        yaml.safe_dump(TINY["world_conf"], f)
    extract_training_speakers(
        root, (("SF1", range(100001, 100005)), ("TM3", range(100082, 100086))), root / "world.yaml"
    )
    with open(root / "train.yaml", "w") as f:
        yaml.safe_dump(TINY, f)
    return root


def collect_stats(workdir, speakers=("SF1", "TM3")):
    """ESPnet --collect_stats, one speaker at a time."""
    for side, spk in zip(("src", "trg"), speakers):
        scp = workdir / spk / "feats.scp"
        run("vc_train", "--collect_stats", "true", "--config", workdir / "train.yaml",
            "--output_dir", workdir / f"stats_{side}",
            *data_args("train", [(scp, f"{side}_feats")]),
            *data_args("valid", [(scp, f"{side}_feats")]),
            "--train_shape_file", workdir / spk / "utt2num_frames",
            "--valid_shape_file", workdir / spk / "utt2num_frames", cwd=workdir)
    return {side: workdir / f"stats_{side}/train/{side}_feats_stats.npz" for side in ("src", "trg")}


@pytest.fixture(scope="module")
def stats(workdir):
    return collect_stats(workdir)


def train_args(workdir, stats, max_epoch, speakers=("SF1", "TM3")):
    pairs = workdir / "pairs"
    names = [(pairs / "src_feats.scp", "src_feats"), (pairs / "trg_feats.scp", "trg_feats")]
    return [
        "--config", workdir / "train.yaml", "--output_dir", workdir / "exp",
        *data_args("train", names), *data_args("valid", names),
        "--train_shape_file", pairs / "src_feats.scp", "--valid_shape_file", pairs / "src_feats.scp",
        "--src_normalize", "global_mvn", "--src_normalize_conf", f"stats_file={stats['src']}",
        "--trg_normalize", "global_mvn", "--trg_normalize_conf", f"stats_file={stats['trg']}",
        "--model_conf", f"identity_loss_updates={IDENTITY_UPDATES}",
        "--model_conf", f"src_logf0_stats_file={workdir / f'logf0_{speakers[0]}.npz'}",
        "--model_conf", f"trg_logf0_stats_file={workdir / f'logf0_{speakers[1]}.npz'}",
        "--num_iters_per_epoch", ITERS_PER_EPOCH, "--max_epoch", max_epoch,
        "--seed", 3, "--resume", "true",
    ]


@pytest.fixture(scope="module")
def trained(workdir, stats):
    first = run("vc_train", *train_args(workdir, stats, max_epoch=1), cwd=workdir)
    after_first = torch.load(workdir / "exp/checkpoint.pth", map_location="cpu", weights_only=False)
    second = run("vc_train", *train_args(workdir, stats, max_epoch=2), cwd=workdir)
    return dict(exp=workdir / "exp", first=first, second=second, after_first=after_first)


def test_collect_stats_match_the_features(workdir, stats):
    feats = np.concatenate([m for _, m in kaldiio.load_scp_sequential(str(workdir / "SF1/feats.scp"))])
    with np.load(stats["src"]) as npz:
        assert int(npz["count"]) == len(feats)
        np.testing.assert_allclose(npz["sum"] / npz["count"], feats.mean(0), rtol=1e-4, atol=1e-4)
    assert not (workdir / "stats_src/train/trg_feats_stats.npz").exists()


def test_training_writes_espnet_outputs(trained):
    exp = trained["exp"]
    for name in ("config.yaml", "checkpoint.pth", "latest.pth", "1epoch.pth", "2epoch.pth"):
        assert (exp / name).is_file(), name
    assert list((exp / "images").glob("*.png")), "loss-curve images"
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert config["generator"] == "cyclegan_vc" and config["num_iters_per_epoch"] == ITERS_PER_EPOCH


def test_resume_continues_updates_schedule_and_identity_state(trained):
    assert "1epoch results" in trained["first"].stderr
    assert int(trained["after_first"]["model"]["cyclegan.num_updates"]) == ITERS_PER_EPOCH
    # The log shows the time left (the first update of a process starts its clock).
    assert re.search(r"1epoch:train:progress: updates=3/\d+, updates_per_s=[0-9.]+, epoch_time_left=0:00:00, "
                     r"time_left=\d+:\d\d:\d\d", trained["first"].stderr)
    assert re.search(r"2epoch:train:progress: updates=6/", trained["second"].stderr)
    # The second call resumed from epoch 1 rather than starting again.
    assert "1epoch results" not in trained["second"].stderr
    assert "2epoch results" in trained["second"].stderr
    ckpt = torch.load(trained["exp"] / "checkpoint.pth", map_location="cpu", weights_only=False)
    assert int(ckpt["model"]["cyclegan.num_updates"]) == 2 * ITERS_PER_EPOCH
    # Both optimisers and both schedulers went on from where they were: a
    # state that was saved but not restored would count ITERS_PER_EPOCH.
    for i, name in enumerate(("generator", "discriminator")):
        for c, epochs in ((trained["after_first"], 1), (ckpt, 2)):
            steps = {int(state["step"]) for state in c["optimizers"][i]["state"].values()}
            assert steps == {epochs * ITERS_PER_EPOCH}, f"{name} Adam steps after epoch {epochs}"
            assert c["schedulers"][i]["last_epoch"] == epochs * ITERS_PER_EPOCH, f"{name} scheduler"
    # Epoch 2 holds updates 3, 4, 5: only update 3 is below the 4-update identity
    # budget, so the mean weight is 5/3, and the counter did not restart at 0.
    line = re.search(r"2epoch results: \[train\].*", trained["second"].stderr).group(0)
    weight = float(re.search(r"identity_weight=([0-9.e+-]+)", line).group(1))
    assert weight == pytest.approx(5.0 / 3, rel=1e-3)


def test_converter_round_trip_on_real_speech(trained, workdir):
    exp = trained["exp"]
    vc = VoiceConverter(exp / "config.yaml", exp / "latest.pth")
    wav, fs = soundfile.read(vcc2016_root() / "evaluation_all/SF1/200001.wav")
    assert vc.fs == 16000
    outputs = {}
    for direction in ("src_to_trg", "trg_to_src"):
        out = vc(wav, fs, direction=direction)
        assert np.all(np.isfinite(out))
        assert abs(len(out) - len(wav)) <= 0.01 * fs  # WORLD keeps the duration
        assert 1e-3 < np.abs(out).max()
        outputs[direction] = out
    # The two directions are two different generators and F0 transforms.
    assert not np.allclose(outputs["src_to_trg"], outputs["trg_to_src"], atol=1e-3)
    # SF1 -> TM3 moves the pitch to TM3's statistics (0.54 ln Hz below SF1's):
    # the converted speech's mean log-F0 lies near TM3's, far from SF1's.
    f0 = analyze(outputs["src_to_trg"], vc.world).f0
    converted_mean = float(np.log(f0[f0 > 0]).mean())
    assert abs(converted_mean - vc.logf0["trg"].mean) < 0.15
    assert abs(converted_mean - vc.logf0["src"].mean) > 0.3
    # The log-F0 statistics travel inside the model file.
    with np.load(workdir / "logf0_TM3.npz") as npz:
        mean = float(npz["sum"][0] / npz["count"][0])
    assert vc.logf0["trg"].mean == pytest.approx(mean)


def test_inference_cli_writes_wavs_and_scp(trained, workdir):
    exp = trained["exp"]
    scp = workdir / "eval.scp"
    ids = (200001, 200002)
    scp.write_text("".join(
        f"SF1_{i} {vcc2016_root() / 'evaluation_all/SF1' / f'{i}.wav'}\n" for i in ids
    ))
    out = workdir / "decode"
    run("vc_inference", "--train_config", exp / "config.yaml", "--model_file", exp / "latest.pth",
        "--wav_scp", scp, "--output_dir", out, "--direction", "src_to_trg", cwd=workdir)
    entries = read_scp(out / "wav.scp")
    assert [k for k, _ in entries] == [f"SF1_{i}" for i in ids]
    for _, path in entries:
        info = soundfile.info(path)
        assert info.samplerate == 16000 and info.subtype == "PCM_16" and info.channels == 1
        assert info.duration > 1.0


def test_converter_refuses_a_model_of_another_configuration(trained, workdir, tmp_path):
    exp = trained["exp"]
    config = yaml.safe_load((exp / "config.yaml").read_text())
    config["generator_conf"]["first_channels"] = 16
    other = tmp_path / "config.yaml"
    other.write_text(yaml.safe_dump(config))
    with pytest.raises(RuntimeError, match="does not match"):
        VoiceConverter(other, exp / "latest.pth")


# ESPnet saves checkpoint.pth on rank 0 only and VCTask.main does not return
# the model, so this runs the same VCTask.main on every rank through a subclass
# that keeps the model it builds (its weights before training too) and, by a
# forward hook, the first batch the rank trains on; each rank saves them.
DDP_RANK_DUMP = """
import copy
import sys

import torch

from espnet2_cyclegan_vc.tasks.vc import VCTask


class RecordingVCTask(VCTask):
    @classmethod
    def build_model(cls, args):
        model = super().build_model(args)
        cls.model, cls.initial, cls.first_batch = model, copy.deepcopy(model.state_dict()), {}

        def record(module, args, kwargs):
            if not cls.first_batch:
                cls.first_batch = {k: kwargs[k].detach().clone() for k in ("src_feats", "trg_feats")}

        model.register_forward_pre_hook(record, with_kwargs=True)
        return model


RecordingVCTask.main(cmd=sys.argv[2:])
model = RecordingVCTask.model
torch.save({"model": model.state_dict(), "initial": RecordingVCTask.initial,
            "params": [name for name, _ in model.named_parameters()],
            "first_batch": RecordingVCTask.first_batch},
           f"{sys.argv[1]}/rank{torch.distributed.get_rank()}.pth")
torch.distributed.barrier()  # as vc_train.main does
torch.distributed.destroy_process_group()
"""


def test_distributed_training_two_cpu_processes(workdir, stats, tmp_path):
    """Data-parallel training with torchrun and gloo keeps the two ranks' models identical."""
    args = train_args(workdir, stats, max_epoch=1)
    args[args.index("--output_dir") + 1] = tmp_path / "exp_ddp"
    script = tmp_path / "train_and_dump_ranks.py"
    script.write_text(DDP_RANK_DUMP)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(29500 + os.getpid() % 1000), script, tmp_path, *args,
           "--dist_backend", "gloo", "--multiprocessing_distributed", "false", "--batch_size", "2"]
    proc = subprocess.run(list(map(str, cmd)), cwd=workdir, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert re.search(r"\[\S+:0/2\].*1epoch results", proc.stderr)
    ckpt = torch.load(tmp_path / "exp_ddp/checkpoint.pth", map_location="cpu", weights_only=False)
    assert int(ckpt["model"]["cyclegan.num_updates"]) == ITERS_PER_EPOCH
    ranks = [torch.load(tmp_path / f"rank{r}.pth", map_location="cpu") for r in (0, 1)]
    # Rank 0's dump is the model ESPnet saved.
    assert ckpt["model"].keys() == ranks[0]["model"].keys()
    assert all(torch.equal(v, ranks[0]["model"][k]) for k, v in ckpt["model"].items())
    # Equal weights at the end are not trivial: the ranks trained on different
    # data, and the updates moved every network away from its start.
    for name in ("src_feats", "trg_feats"):
        assert not torch.equal(ranks[0]["first_batch"][name], ranks[1]["first_batch"][name]), name
    params = ranks[0]["params"]
    for net in ("generator", "discriminator"):
        assert any(not torch.equal(ranks[0]["model"][p], ranks[0]["initial"][p])
                   for p in params if p.startswith(f"cyclegan.{net}")), f"{net} weights did not change"
    # DDP all-reduces the gradients, so both replicas took the same steps.
    assert ranks[1]["params"] == params
    for p in params:
        a, b = ranks[0]["model"][p], ranks[1]["model"][p]
        assert torch.equal(a, b), f"{p}: the ranks differ by up to {(a - b).abs().max():.3g}"


@pytest.mark.parametrize("seconds", [0.2, 60.0])
def test_very_short_and_long_utterances_convert(trained, seconds):
    exp = trained["exp"]
    vc = VoiceConverter(exp / "config.yaml", exp / "latest.pth")
    wav, fs = soundfile.read(vcc2016_root() / "evaluation_all/TM3/200002.wav")
    n = int(seconds * fs)
    wav = np.tile(wav, int(np.ceil(n / len(wav))))[:n]
    out = vc(wav, fs, direction="trg_to_src")
    assert np.all(np.isfinite(out))
    assert abs(len(out) - n) <= 0.01 * fs


def test_learning_curve_scores_every_epoch_model(trained, workdir):
    exp = trained["exp"]
    evaluation = vcc2016_root() / "evaluation_all"
    for spk in ("SF1", "TM3"):
        (workdir / f"eval_{spk}.scp").write_text("".join(
            f"{spk}_{i} {evaluation / spk / f'{i}.wav'}\n" for i in (200003, 200001, 200002)
        ))
        (workdir / f"train_{spk}.scp").write_text("".join(
            f"{spk}_{i} {vcc2016_root() / 'vcc2016_training' / spk / f'{i}.wav'}\n" for i in (100001, 100002)
        ))
        run("speaker_centroid", "--wav_scp", workdir / f"train_{spk}.scp", "--output", workdir / f"{spk}.npz",
            cwd=workdir)
    out = workdir / "curve"
    run("vc_learning_curve", "--exp_dir", exp, "--src_wav_scp", workdir / "eval_SF1.scp",
        "--trg_wav_scp", workdir / "eval_TM3.scp", "--srcspk", "SF1", "--trgspk", "TM3",
        "--num_utts", 2, "--nj", 2, "--outdir", out, "--src_centroid", workdir / "SF1.npz",
        "--trg_centroid", workdir / "TM3.npz", cwd=workdir)
    curve = json.loads((out / "curve.json").read_text())
    assert curve["sentences"] == ["200001", "200002"]  # the first two, sorted
    points = curve["points"]
    assert [(p["epoch"], p["updates"], p["direction"]) for p in points] == [
        (e, e * ITERS_PER_EPOCH, d) for e in (1, 2) for d in ("src_to_trg", "trg_to_src")
    ]
    for p in points:
        assert 3.0 < p["mcd"] < 30.0 and 3.0 < p["mcd_speech"] < 30.0 and p["logf0_rmse"] > 0
        assert 0.0 < p["spk_sim_target"] < 1.0 and 0.0 <= p["spk_closer_to_target"] <= 1.0
    for d in ("src_to_trg", "trg_to_src"):
        # Unconverted speech of one speaker: nearer its own centroid than the other's.
        assert curve["baseline"][d]["spk_closer_to_target"] == 0.0
    # Each epoch's model converts differently; the baseline is model-independent.
    assert points[0]["mcd"] != points[2]["mcd"]
    for d in ("src_to_trg", "trg_to_src"):
        assert curve["baseline"][d]["mcd"] > 5.0
    tsv = (out / "curve.tsv").read_text().splitlines()
    assert tsv[0].split("\t")[:4] == ["epoch", "updates", "direction", "mcd"] and len(tsv) == 5
    assert "spk_sim_target" in tsv[0].split("\t")
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # No epoch models: a clear error naming the option that keeps them.
    empty = workdir / "no_epochs"
    empty.mkdir()
    proc = run("vc_learning_curve", "--exp_dir", empty, "--src_wav_scp", workdir / "eval_SF1.scp",
               "--trg_wav_scp", workdir / "eval_TM3.scp", "--srcspk", "SF1", "--trgspk", "TM3",
               "--outdir", out, cwd=workdir, check=False)
    assert proc.returncode != 0 and "keep_nbest_models" in proc.stderr


def test_learning_curve_every_nth_epoch_keeps_the_last(tmp_path):
    from espnet2_cyclegan_vc.bin.vc_learning_curve import epoch_checkpoints

    for name in ("1epoch.pth", "2epoch.pth", "3epoch.pth", "4epoch.pth", "7epoch.pth", "latest.pth",
                 "valid.generator_cycle_loss.ave_5best.pth", "checkpoint.pth"):
        (tmp_path / name).write_bytes(b"")
    assert [e for e, _ in epoch_checkpoints(tmp_path)] == [1, 2, 3, 4, 7]
    assert [e for e, _ in epoch_checkpoints(tmp_path, every=2)] == [2, 4, 7]
    assert [e for e, _ in epoch_checkpoints(tmp_path, every=7)] == [7]


VARIANTS = {
    "cyclegan_vc2": dict(
        generator="cyclegan_vc2", discriminator="patchgan",
        generator_conf=dict(first_channels=8, downsample_channels=[8, 16], bottleneck_channels=16,
                            residual_hidden_channels=16, num_residual_blocks=1, upsample_channels=[32, 16]),
        discriminator_conf=dict(first_channels=8, downsample_channels=[8, 16, 16]),
        model_conf=dict(two_step_adversarial=True, adversarial_loss_type="mse"),
    ),
    "maskcyclegan_vc": dict(
        generator="cyclegan_vc2", discriminator="patchgan",
        generator_conf=dict(first_channels=8, downsample_channels=[8, 16], bottleneck_channels=16,
                            residual_hidden_channels=16, num_residual_blocks=1, upsample_channels=[32, 16],
                            mask_channel=True),
        discriminator_conf=dict(first_channels=8, downsample_channels=[8, 16, 16]),
        model_conf=dict(two_step_adversarial=True, adversarial_loss_type="mse", fif_max_frames=25),
    ),
}


MINI_SPEAKERS = ("MINIF", "MINIM")


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    """Features and statistics of a small mini corpus (4 training utterances per speaker)."""
    # The generator is the mini_vc recipe's data preparation, in its local/.
    if str(REPO_ROOT / "egs2/mini_vc/vc1/local") not in sys.path:
        sys.path.insert(0, str(REPO_ROOT / "egs2/mini_vc/vc1/local"))
    from mini_corpus.mini import generate_corpus

    root = tmp_path_factory.mktemp("vc_task_mini")
    generate_corpus(root / "corpus", num_train=4, num_eval=1, verbose=False)
    with open(root / "world.yaml", "w") as f:
        yaml.safe_dump(TINY["world_conf"], f)
    extract_training_speakers(root, (("MINIF", range(100001, 100005)), ("MINIM", range(100005, 100009))),
                              root / "world.yaml", corpus=root / "corpus/vcc2016_training")
    with open(root / "train.yaml", "w") as f:
        yaml.safe_dump(TINY, f)
    return root, collect_stats(root, MINI_SPEAKERS)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_trains_resumes_and_converts(variant, mini, tmp_path):
    """CycleGAN-VC2 / MaskCycleGAN-VC through the real task on the mini
    corpus: one epoch, a resumed second one that restores all four
    discriminators and their optimiser, then conversion by the unchanged
    VoiceConverter."""
    workdir, stats = mini
    conf = {**TINY, **VARIANTS[variant]}
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump(conf))
    exp = tmp_path / "exp"

    def train(max_epoch):
        args = train_args(workdir, stats, max_epoch, MINI_SPEAKERS)
        args[args.index("--config") + 1] = config
        args[args.index("--output_dir") + 1] = exp
        return run("vc_train", *args, cwd=workdir)

    first = train(1)
    assert "1epoch results" in first.stderr and "generator_adv2_loss" in first.stderr
    after_first = torch.load(exp / "checkpoint.pth", map_location="cpu", weights_only=False)
    second = train(2)
    assert "1epoch results" not in second.stderr and "2epoch results" in second.stderr
    ckpt = torch.load(exp / "checkpoint.pth", map_location="cpu", weights_only=False)
    model = ckpt["model"]
    for name in ("src", "trg", "src_cycle", "trg_cycle"):
        assert f"cyclegan.discriminator.{name}.first.conv.weight" in model
        # the second epoch went on from the first epoch's weights: they moved
        before = after_first["model"][f"cyclegan.discriminator.{name}.first.conv.weight"]
        assert not torch.equal(before, model[f"cyclegan.discriminator.{name}.first.conv.weight"])
    # optimiser 2 holds the four discriminators' parameters, each with the
    # step count of both epochs (a state saved but not restored would count one)
    disc_params = sum(1 for k in model if k.startswith("cyclegan.discriminator.") and not k.endswith(
        ("running_mean", "running_var", "num_batches_tracked")))
    state = ckpt["optimizers"][1]["state"]
    assert len(state) == disc_params
    assert {int(s["step"]) for s in state.values()} == {2 * ITERS_PER_EPOCH}
    config_yaml = yaml.safe_load((exp / "config.yaml").read_text())
    assert config_yaml["generator"] == "cyclegan_vc2" and config_yaml["discriminator"] == "patchgan"

    vc = VoiceConverter(exp / "config.yaml", exp / "latest.pth")
    for direction, spk in (("src_to_trg", "MINIF"), ("trg_to_src", "MINIM")):
        wav, fs = soundfile.read(workdir / f"corpus/evaluation_all/{spk}/200001.wav")
        out = vc(wav, fs, direction=direction)
        assert np.all(np.isfinite(out)) and abs(len(out) - len(wav)) <= 0.01 * fs
        assert 1e-3 < np.abs(out).max()
