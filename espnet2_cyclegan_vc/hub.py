"""Packed models on the Hugging Face Hub: staging, pushing and fetching by repo id.

A model repository holds two files: ``packed_model.zip`` (stage 7's archive,
which carries its own card and speakers) and ``README.md`` (the same card, so
the Hub shows it). Fetching downloads only the archive, once, into
huggingface_hub's cache; it is then unpacked and checked like any packed
model from someone else (:func:`espnet2_cyclegan_vc.model_io.unpack_model`).
"""

import re
import shutil
from pathlib import Path
from typing import Optional, Union

from espnet2_cyclegan_vc.fileio import atomic_output

PACK_NAME = "packed_model.zip"
CARD_NAME = "README.md"
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


class HubError(ValueError):
    """A model that cannot be fetched from or pushed to the Hub; the message says what to do."""


def is_repo_id(text: str) -> bool:
    """True for "owner/name", the form of a Hub repo id (a local path is checked first by callers)."""
    return bool(_REPO_ID.match(text)) and ".." not in text


def download_pack(repo_id: str, revision: Optional[str] = None) -> str:
    """Path of the repo's packed model in huggingface_hub's cache, downloaded if missing.

    Offline (no network, or HF_HUB_OFFLINE=1) the cached copy is used.

    Raises:
        HubError: not cached and the Hub cannot be reached, no such
            repository, or the repository holds no packed model.
    """
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        return hf_hub_download(repo_id, PACK_NAME, revision=revision)
    except LocalEntryNotFoundError:
        how = "HF_HUB_OFFLINE is set" if constants.HF_HUB_OFFLINE else "the Hub cannot be reached"
        raise HubError(
            f"{repo_id}: the model is not cached (cache: {constants.HF_HUB_CACHE}) and {how}: run once with "
            f"a network to download it, or pass the path of a packed model"
        ) from None
    except RepositoryNotFoundError:
        raise HubError(f"{repo_id}: no such model repository on the Hugging Face Hub (or it is private: "
                       "log in with `hf auth login`)") from None
    except EntryNotFoundError:
        raise HubError(f"{repo_id}: the repository holds no {PACK_NAME}: not a packed model of "
                       "espnet2-cyclegan-vc") from None


def stage_upload(pack: Union[str, Path], card: Union[str, Path], folder: Union[str, Path]) -> Path:
    """Folder holding exactly what a model repository gets (the archive and its card), for a push now or later."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():
        if stale.name not in (PACK_NAME, CARD_NAME) and stale.is_file():
            stale.unlink()
    for src, name in ((pack, PACK_NAME), (card, CARD_NAME)):
        with atomic_output(folder / name) as tmp:
            shutil.copyfile(src, tmp)
    return folder


def upload(folder: Union[str, Path], repo_id: str, token: Optional[str] = None, private: bool = False) -> str:
    """Push a staged folder to a model repository (created if missing); its URL.

    Raises:
        HubError: no token, or the Hub cannot be reached; the folder is kept
            and the message says how to push it later.
    """
    from huggingface_hub import HfApi, get_token

    later = (f"the staged folder {folder} is kept: push it later with "
             f"`hf upload {repo_id} {folder} . --repo-type model` or by running this stage again")
    token = token or get_token()
    if not token:
        raise HubError(f"no Hugging Face token (set HF_TOKEN or run `hf auth login`); {later}")
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="model", exist_ok=True, private=private)
        info = api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="model",
                                 commit_message="Upload packed CycleGAN-VC model and its card")
    except Exception as e:  # network, authentication or server errors: all mean "not pushed"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise HubError(f"could not push to {repo_id} ({first}); {later}") from None
    return str(getattr(info, "commit_url", None) or f"https://huggingface.co/{repo_id}")
