"""bench/gpu_check.sh on the CPU (tiny widths), and the model's speed-up options.

Timings are not asserted (machines are noisy); only that every measurement is
present, positive and finite.
"""

import json
import logging
import math
import subprocess

import pytest
import torch
from conftest import REPO_ROOT, batch, make_model, needs_vcc2016, vcc2016_root

from espnet2_cyclegan_vc.cyclegan.loss import (
    DiscriminatorAdversarialLoss,
    GeneratorAdversarialLoss,
    l1_loss,
)


@needs_vcc2016
@pytest.mark.slow
def test_gpu_check_tiny_run(tmp_path):
    proc = subprocess.run(
        ["bash", str(REPO_ROOT / "bench/gpu_check.sh"), "--tiny", "--vcc2016", str(vcc2016_root()),
         "--outdir", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "gpu_check.json").read_text())
    assert result["widths"] == "tiny"
    assert set(result["training"]) == {"fp32", "bf16", "bf16+compile"}
    values = []
    for variant in result["training"].values():
        for path in ("espnet", "step"):
            assert "error" not in variant[path], variant[path]["error"]
            values += [variant[path]["updates_per_s"], variant[path]["s_per_update"], variant[path]["peak_rss_mib"]]
    # the model's step at the check's batch, with the variant's options
    assert [v["step"]["batch"] for v in result["training"].values()] == [1, 1, 1]
    run = result["paper_run"]
    assert "error" not in run, run["error"]
    assert run["variant"] in result["training"]
    values += [run["seconds"], run["updates"], run["updates_per_s"], run["generator_cycle_loss"]]
    assert all(math.isfinite(v) and v > 0 for v in values), values
    # The saved model is the last finished epoch's (the run waits for one).
    assert 0 < run["updates_saved"] <= run["updates"]
    # That model converted the first two evaluation sentences both ways, scored beside the baseline.
    scores = result["scores"]
    assert "error" not in scores, scores["error"]
    assert scores["updates"] == run["updates_saved"] and scores["sentences"] == 2
    assert set(scores["directions"]) == {"SF1->TM3", "TM3->SF1"}
    for name, v in scores["directions"].items():
        assert all(math.isfinite(x) and x > 0 for x in v.values()), (name, v)
        assert f"| {name} MCD / speech MCD / log-F0 RMSE, baseline | {v['mcd']:.3f} /" in proc.stdout.replace(
            f"| paper config (tiny widths, {run['variant']}): ", "| ")
    curve = json.loads((tmp_path / "scores/curve.json").read_text())
    assert curve["sentences"] == ["200001", "200002"]
    assert "| CUDA graphs | not measured: the model's step reads its losses on the host" in proc.stdout
    # The table opens with the host line (ESPnet's imports may print before it).
    lines = proc.stdout.splitlines()
    assert lines[lines.index("| measurement | value |") - 2].startswith(f"Host: {result['host']['cpu_model']};")
    assert ": generator cycle loss, last logged interval |" in proc.stdout
    assert (tmp_path / "paper_run_train.log").is_file()


def reference_generator_loss(model, b):
    """The generator loss written out from the networks, as the model computed
    it before the speed-up options existed."""
    x, y = b["src_feats"].transpose(1, 2), b["trg_feats"].transpose(1, 2)
    g_xy, g_yx = model.cyclegan.generator["src_to_trg"], model.cyclegan.generator["trg_to_src"]
    d_x, d_y = model.cyclegan.discriminator["src"], model.cyclegan.discriminator["trg"]
    adv = GeneratorAdversarialLoss("bce")
    fake_y, fake_x = g_xy(x), g_yx(y)
    loss = adv(d_y(fake_y)) + adv(d_x(fake_x))
    loss = loss + 10.0 * (l1_loss(g_yx(fake_y), x) + l1_loss(g_xy(fake_x), y))
    loss = loss + 5.0 * (l1_loss(g_xy(y), y) + l1_loss(g_yx(x), x))
    real_y, fake_y_loss = DiscriminatorAdversarialLoss("bce")(d_y(y), d_y(fake_y.detach()))
    real_x, fake_x_loss = DiscriminatorAdversarialLoss("bce")(d_x(x), d_x(fake_x.detach()))
    return loss.item(), (real_x + real_y + fake_x_loss + fake_y_loss).item()


def test_default_path_is_unchanged():
    expected = reference_generator_loss(make_model(), batch())
    for model in (make_model(), make_model(autocast_dtype=None, compile_networks=False)):
        b = batch()
        g = model(forward_generator=True, **b)["loss"].item()
        d = model(forward_generator=False, **b)["loss"].item()
        assert (g, d) == pytest.approx(expected, abs=1e-6)


def test_bfloat16_autocast_trains_on_cpu():
    fp32 = make_model()(forward_generator=True, **batch())["loss"].item()
    model = make_model(autocast_dtype="bfloat16")
    opt_g = torch.optim.Adam(model.cyclegan.generator.parameters(), 2e-4)
    opt_d = torch.optim.Adam(model.cyclegan.discriminator.parameters(), 1e-4)
    before = [p.detach().clone() for p in model.parameters()]
    for step in range(2):
        b = batch(seed=step)
        for turn, opt in ((True, opt_g), (False, opt_d)):
            out = model(forward_generator=turn, **b)
            assert out["loss"].dtype == torch.float32 and torch.isfinite(out["loss"])
            assert all(math.isfinite(float(v)) for v in out["stats"].values())
            if turn and step == 0:  # autocast changes the numbers a little, not much
                assert out["loss"].item() != fp32 and out["loss"].item() == pytest.approx(fp32, rel=0.05)
            opt.zero_grad()
            out["loss"].backward()
            opt.step()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert any(not torch.equal(p, q) for p, q in zip(model.parameters(), before))
    assert int(model.num_updates) == 2


def test_compile_networks_compiles_the_four_networks_for_training_only(monkeypatch):
    compiled = []

    def fake_compile(net):  # records the call; torch.compile itself is slow on CPU
        compiled.append(net)
        return net

    monkeypatch.setattr(torch, "compile", fake_compile)
    model = make_model(compile_networks=True)
    model.eval()
    model(forward_generator=True, **batch())
    assert compiled == []  # validation (variable lengths) stays uncompiled
    model.train()
    b = batch()
    for _ in range(2):
        g = model(forward_generator=True, **b)["loss"].item()
        model(forward_generator=False, **b)
    assert sorted(map(id, compiled)) == sorted(map(id, [*model.cyclegan.generator.values(), *model.cyclegan.discriminator.values()]))
    assert set(model.state_dict()) == set(make_model().state_dict())
    assert math.isfinite(g)


def test_unknown_autocast_dtype_is_refused():
    with pytest.raises(ValueError, match="autocast_dtype"):
        make_model(autocast_dtype="float8")


def test_auto_autocast_follows_the_cpu_and_says_so(caplog):
    """autocast_dtype auto: bfloat16 exactly where the CPU has AMX or AVX512-BF16, logged once."""
    from espnet2_cyclegan_vc.cyclegan.cyclegan import native_bfloat16

    native = native_bfloat16("cpu")
    flags = {"AMX": torch.cpu._is_amx_tile_supported(), "AVX512-BF16": torch.cpu._is_avx512_bf16_supported()}
    assert (native is None) == (not any(flags.values())) and (native is None or flags[native])
    model = make_model(autocast_dtype="auto")
    assert model.cyclegan.autocast_dtype is None  # nothing decided before the first pass
    with caplog.at_level(logging.INFO):
        for _ in range(2):
            out = model(forward_generator=True, **batch())
    assert model.cyclegan.autocast_dtype == (torch.bfloat16 if native else None)
    lines = [r.getMessage() for r in caplog.records if "autocast_dtype=auto" in r.getMessage()]
    assert len(lines) == 1 and ("bfloat16 autocast on cpu" in lines[0]) == bool(native)
    assert out["loss"].dtype == torch.float32 and torch.isfinite(out["loss"])
    assert native_bfloat16("meta") is None
