#!/usr/bin/env python3
"""Apply each defect that once slipped through the fast tests, run the fast tests, revert.

    .venv/bin/python tools/known_defects.py [--pytest-args "-x -q"]

Each defect is one textual change to one file of the package (the list in
issue 23). The tree is restored after every run, also on Ctrl-C. Prints one
line per defect: caught (some fast test failed) or MISSED, with the first
failing test; exit status 1 if any was missed.
"""

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "espnet2_cyclegan_vc"

DEFECTS = [
    ("residual block without its skip connection", "layers/gated_conv.py",
     "return x + self.norm(self.conv(self.gated(x)))", "return self.norm(self.conv(self.gated(x)))"),
    ("residual block without its normalisation", "layers/gated_conv.py",
     "return x + self.norm(self.conv(self.gated(x)))", "return x + self.conv(self.gated(x))"),
    ("VoiceConverter ignores the direction", "bin/vc_inference.py",
     "converted = self.model.convert(mcep, direction)", 'converted = self.model.convert(mcep, "src_to_trg")'),
    ("model.convert ignores the direction", "espnet_model.py",
     "y = self.denormalize(out_side, self.cyclegan.generate(x, direction))",
     'y = self.denormalize(out_side, self.cyclegan.generate(x, "src_to_trg"))'),
    ("source and target log-F0 statistics swapped", "bin/vc_inference.py",
     "convert_f0(feats.f0, self.logf0[in_side], self.logf0[out_side])",
     "convert_f0(feats.f0, self.logf0[out_side], self.logf0[in_side])"),
    ("denormalised with the other speaker's statistics", "espnet_model.py",
     "y = self.denormalize(out_side, self.cyclegan.generate(x, direction))",
     "y = self.denormalize(in_side, self.cyclegan.generate(x, direction))"),
    ("aperiodicity replaced by zeros before synthesis", "bin/vc_inference.py",
     "out = synthesize(f0, converted, feats.ap, self.world)",
     "out = synthesize(f0, converted, np.zeros_like(feats.ap), self.world)"),
    ("sampler always draws the same target", "train/unpaired.py",
     "rxfile = self.target_pool[int(self.rng.integers(len(self.target_pool)))]",
     "rxfile = self.target_pool[0]"),
    ("sampler always crops at frame 0", "train/unpaired.py",
     "start = int(self.rng.integers(0, frames - self.segment_frames + 1))", "start = 0"),
    ("task builds the target pool from the source features", "tasks/vc.py",
     'if name == "trg_feats":\n                target_pool = path', 'if name == "src_feats":\n                target_pool = path'),
    ("discriminator turn: fakes not detached", "cyclegan/cyclegan.py",
     "*(t.detach() for t in (fake_y, fake_x, cycle_x, cycle_y))", "*(t for t in (fake_y, fake_x, cycle_x, cycle_y))"),
    ("discriminator turn: real/fake labels swapped on one side", "cyclegan/cyclegan.py",
     'real_y_loss, fake_y_loss = self.discriminator_adv_loss(*self._real_and_fake("trg", y, fake_y))',
     'real_y_loss, fake_y_loss = self.discriminator_adv_loss(*self._real_and_fake("trg", fake_y, y))'),
    ("batched generator pass: the identity half masked too", "cyclegan/cyclegan.py",
     "full = None if mask is None else torch.cat([mask, torch.ones_like(mask)])",
     "full = None if mask is None else torch.cat([mask, mask])"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pytest-args", default="-x -q -m 'not slow' -p no:cacheprovider test",
                        help="what to run for each defect (the fast subset by default)")
    args = parser.parse_args()
    missed = 0
    for name, rel, old, new in DEFECTS:
        path = PKG / rel
        original = path.read_text()
        if original.count(old) != 1:
            print(f"SKIPPED  {name}: the code to break is not found once in {rel}")
            missed += 1
            continue
        try:
            path.write_text(original.replace(old, new))
            proc = subprocess.run(f"{sys.executable} -m pytest {args.pytest_args}", shell=True, cwd=ROOT,
                                  capture_output=True, text=True)
        finally:
            path.write_text(original)
        failed = [line.split(" ")[1] for line in proc.stdout.splitlines() if line.startswith("FAILED ")]
        if proc.returncode == 0:
            missed += 1
            print(f"MISSED   {name}")
        else:
            print(f"caught   {name}: {failed[0] if failed else proc.stdout.strip().splitlines()[-1]}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
