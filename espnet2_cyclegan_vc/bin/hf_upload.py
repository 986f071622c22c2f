#!/usr/bin/env python3
"""Stage and push a packed model and its card to a Hugging Face Hub model repository (stage 8).

    python -m espnet2_cyclegan_vc.bin.hf_upload --pack exp/vc_x/packed_model.zip --card exp/vc_x/README.md \
        --folder exp/vc_x/hf_upload --hf_repo owner/name

The folder is made first (packed_model.zip and README.md, nothing else), so
when there is no token or no network the command stops with one line saying
so and the folder stays ready for a later push (``hf upload``, or this stage
again). The token is huggingface_hub's: HF_TOKEN or ``hf auth login``.
"""

import argparse
import logging

from espnet2_cyclegan_vc.bin import add_log_level_argument, main_with_options
from espnet2_cyclegan_vc.hub import is_repo_id, stage_upload, upload


def hf_upload(pack: str, card: str, folder: str, hf_repo: str, private: bool = False) -> str:
    if not is_repo_id(hf_repo):
        raise ValueError(f"--hf_repo {hf_repo}: not a Hub repo id (owner/name)")
    staged = stage_upload(pack, card, folder)
    logging.info(f"Staged {staged}: packed_model.zip, README.md")
    url = upload(staged, hf_repo, private=private)
    logging.info(f"Uploaded: {url}")
    return url


def get_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pack", required=True, help="packed_model.zip of stage 7")
    parser.add_argument("--card", required=True, help="Its model card (README.md)")
    parser.add_argument("--folder", required=True, help="Upload folder to stage")
    parser.add_argument("--hf_repo", required=True, help="owner/name")
    parser.add_argument("--private", action="store_true", help="Create the repository private")
    add_log_level_argument(parser)
    return parser


def main(cmd=None):
    main_with_options("hf_upload", get_parser(), hf_upload, cmd)


if __name__ == "__main__":
    main()
