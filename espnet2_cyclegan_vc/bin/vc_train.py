#!/usr/bin/env python3
"""Train a voice-conversion model with ESPnet's trainer (see VCTask)."""

import torch

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
    # ESPnet leaves the process group open. With gloo, a rank that reaches
    # interpreter shutdown while another still writes its last files can
    # abort in the C++ teardown ("terminate called without an active
    # exception", seen once in the two-process test), so the ranks finish
    # together and close the group first.
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
