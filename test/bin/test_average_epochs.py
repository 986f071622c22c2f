"""average_epochs: ranks epochs by vc_learning_curve's curve.json files and averages their models."""

import json

import pytest
import torch

from espnet2_cyclegan_vc.bin import average_epochs


def write_curve(path, mcd_by_epoch, direction):
    path.parent.mkdir(parents=True, exist_ok=True)
    points = [dict(epoch=e, updates=e * 10, direction=direction, mcd=m, mcd_speech=m + 0.5)
              for e, m in mcd_by_epoch.items()]
    path.write_text(json.dumps({"points": points}))
    return path


@pytest.fixture
def exp(tmp_path):
    for e in range(1, 6):
        torch.save({"w": torch.full((2,), float(e)), "num_updates": torch.tensor(e * 10)},
                   tmp_path / f"{e}epoch.pth")
    return tmp_path


def test_ranks_by_the_mean_over_curves_and_averages_the_best(exp):
    a = write_curve(exp / "dev_a/curve.json", {1: 9.0, 2: 8.0, 3: 7.0, 4: 7.5, 5: 8.5}, "src_to_trg")
    b = write_curve(exp / "dev_b/curve.json", {1: 9.0, 2: 8.0, 3: 9.0, 4: 7.5, 5: 6.5}, "trg_to_src")
    # Means: 1: 9.0, 2: 8.0, 3: 8.0, 4: 7.5, 5: 7.5 -> best 4 and 5, then the later of 2 and 3.
    assert [e for e, _ in average_epochs.rank_epochs([a, b])] == [5, 4, 3, 2, 1]
    out = exp / "best.pth"
    average_epochs.main(["--exp_dir", str(exp), "--curves", str(a), str(b), "--nbest", "3", "--output", str(out)])
    state = torch.load(out)
    assert torch.equal(state["w"], torch.full((2,), 4.0))  # mean of epochs 3, 4, 5
    assert int(state["num_updates"]) == 50  # integers from the latest chosen epoch


def test_epochs_missing_from_a_curve_are_not_ranked(exp):
    a = write_curve(exp / "a/curve.json", {1: 5.0, 2: 6.0}, "src_to_trg")
    b = write_curve(exp / "b/curve.json", {2: 6.0, 3: 1.0}, "trg_to_src")
    assert [e for e, _ in average_epochs.rank_epochs([a, b])] == [2]


def test_clear_errors(exp, caplog):
    a = write_curve(exp / "a/curve.json", {1: 5.0, 2: 6.0, 9: 1.0}, "src_to_trg")
    with pytest.raises(SystemExit):
        average_epochs.main(["--exp_dir", str(exp), "--curves", str(a), "--nbest", "2"])
    assert "9epoch.pth" in caplog.text and "keep_nbest_models" in caplog.text
    with pytest.raises(SystemExit):
        average_epochs.main(["--exp_dir", str(exp), "--curves", str(a), "--nbest", "4"])
    assert "only 3 epoch(s)" in caplog.text
    bad = exp / "bad.json"
    bad.write_text("{}")
    with pytest.raises(SystemExit):
        average_epochs.main(["--exp_dir", str(exp), "--curves", str(bad)])
    assert "bad.json: not a vc_learning_curve curve.json" in caplog.text
