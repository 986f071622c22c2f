"""Tests of egs2/TEMPLATE/vc1/utils/filter_scp.sh."""

import pytest

from helpers.template import assert_executable_bash, run, write


@pytest.mark.parametrize("script", ["filter_scp.sh"])
def test_scripts_are_executable_bash(script):
    assert_executable_bash(script)


def test_filter_scp(tmp_path):
    write(tmp_path / "in.scp", "d 4\nb 2\na 1\nc 3 extra\n")
    write(tmp_path / "ids", "c\na something\n")
    res = run("filter_scp.sh", "ids", "in.scp", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["a 1", "c 3 extra"]

    res = run("filter_scp.sh", "--exclude", "ids", "in.scp", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["d 4", "b 2"]


def test_filter_scp_empty_idlist_and_stdin(tmp_path):
    write(tmp_path / "in.scp", "x 1\ny 2\n")
    write(tmp_path / "empty", "")
    assert run("filter_scp.sh", "empty", "in.scp", cwd=tmp_path).stdout == ""
    res = run("filter_scp.sh", "--exclude", "empty", "in.scp", cwd=tmp_path)
    assert res.stdout.splitlines() == ["x 1", "y 2"]
    write(tmp_path / "ids", "y\n")
    res = run("filter_scp.sh", "ids", cwd=tmp_path, stdin="x 1\ny 2\n")
    assert res.stdout.splitlines() == ["y 2"]


def test_filter_scp_prefix_is_not_a_match(tmp_path):
    write(tmp_path / "in.scp", "utt1 a\nutt10 b\n")
    write(tmp_path / "ids", "utt1\n")
    res = run("filter_scp.sh", "ids", "in.scp", cwd=tmp_path)
    assert res.stdout.splitlines() == ["utt1 a"]
