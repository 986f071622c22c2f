"""Tests of egs2/TEMPLATE/vc1/utils/split_scp.sh."""

import pytest

from helpers.template import assert_executable_bash, lines, run, write


@pytest.mark.parametrize("script", ["split_scp.sh"])
def test_scripts_are_executable_bash(script):
    assert_executable_bash(script)


@pytest.mark.parametrize("n_lines,n_parts", [(10, 3), (9, 3), (7, 7), (5, 1), (11, 4)])
def test_split_scp(tmp_path, n_lines, n_parts):
    src = [f"utt{i:03d} /data/{i}.wav" for i in range(n_lines)]
    write(tmp_path / "in.scp", "\n".join(src) + "\n")
    outs = [tmp_path / f"split/out.{i}.scp" for i in range(1, n_parts + 1)]
    (tmp_path / "split").mkdir()
    res = run("split_scp.sh", "in.scp", *outs, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    parts = [lines(o) for o in outs]
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1
    assert min(sizes) >= 1
    # Contiguous and order-preserving: concatenation gives back the input.
    assert [line for p in parts for line in p] == src


def test_split_scp_too_many_outputs(tmp_path):
    write(tmp_path / "in.scp", "a 1\nb 2\n")
    res = run("split_scp.sh", "in.scp", "o1", "o2", "o3", cwd=tmp_path)
    assert res.returncode != 0
    assert "in.scp" in res.stderr
    assert not (tmp_path / "o1").exists()


def test_split_scp_missing_input(tmp_path):
    res = run("split_scp.sh", "absent.scp", "o1", cwd=tmp_path)
    assert res.returncode != 0
    assert "absent.scp" in res.stderr
