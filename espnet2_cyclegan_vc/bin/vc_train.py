#!/usr/bin/env python3
"""Train a voice-conversion model with ESPnet's trainer (see VCTask)."""

from espnet2_cyclegan_vc.tasks.vc import VCTask


def get_parser():
    return VCTask.get_parser()


def main(cmd=None):
    """Run VC training.

    Example:
        % python -m espnet2_cyclegan_vc.bin.vc_train --print_config --optim adam
        % python -m espnet2_cyclegan_vc.bin.vc_train --config conf/train.yaml \
            --train_data_path_and_name_and_type dump/train/src_feats.scp,src_feats,kaldi_ark ...
    """
    VCTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
