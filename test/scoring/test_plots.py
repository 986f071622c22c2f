"""espnet2_cyclegan_vc.scoring.plots: the comparison picture of real speech."""

from conftest import needs, vcc2016_root
from espnet2_cyclegan_vc.scoring import plot_comparison
from espnet2_cyclegan_vc.world import WorldConfig

VCC = vcc2016_root() / "evaluation_all"
needs_vcc = needs(VCC, "VCC2016 evaluation set")
# dio is ~5x faster than harvest and exercises the same code paths.
FAST = WorldConfig(f0_method="dio")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@needs_vcc
def test_plot_comparison_from_paths(tmp_path):
    out = tmp_path / "cmp.png"
    wav = str(VCC / "SF1/200002.wav")
    plot_comparison(wav, wav, str(VCC / "TM3/200002.wav"), out, FAST, title="t")
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 10_000
    assert not list(tmp_path.glob(".*.tmp*"))
