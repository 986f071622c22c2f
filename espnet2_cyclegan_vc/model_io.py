"""Reading model files and packed models that someone else may have made.

A packed model (stage 7, ``espnet2.bin.pack``) is a zip or tar archive of
``meta.yaml``, the training config, the model file and the statistics. ESPnet's
own ``unpack`` extracts whatever the archive names, wherever it points, and
``build_model_from_file`` unpickles the model with ``weights_only=False``, so
an archive from a stranger can write outside the output folder or run code.
The loaders here accept only what a packed model holds:

- members with plain relative names (no absolute path, no ``..``, no
  backslash or drive letter), regular files only (no links, devices or
  FIFOs), each name once, each at most ``MAX_MEMBER_BYTES`` and all together
  at most ``MAX_TOTAL_BYTES``;
- only the files a packed model needs: ``meta.yaml``, the files it lists,
  and the files that the YAML files it lists name by path (the statistics
  that ``pack --option`` adds and the training config refers to);
- YAML read with ``yaml.safe_load``;
- model files read with ``torch.load(weights_only=True)``: tensors and plain
  containers, never arbitrary pickled objects.

Anything else is refused with one line naming the archive member or file and
what is wrong, before anything is written.
"""

import posixpath
import stat
import tarfile
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Union

import torch
import yaml

PathLike = Union[str, Path]

# Generous for this model family: the paper-width generators and
# discriminators together are about 0.5 GB in float32.
MAX_MEMBER_BYTES = 2 * 1024**3
MAX_TOTAL_BYTES = 4 * 1024**3
META = "meta.yaml"


class UnsafeModelError(ValueError):
    """A model archive or model file that is refused."""


class _Member(NamedTuple):
    name: str
    size: int
    is_dir: bool
    handle: Any  # ZipInfo or TarInfo


def _check_name(archive: Path, name: str) -> str:
    """The member's name, or UnsafeModelError if it could land outside the output folder."""
    bad = None
    if not name or "\x00" in name:
        bad = "an empty name or a NUL byte"
    elif "\\" in name or (len(name) > 1 and name[1] == ":"):
        bad = "a backslash or drive letter"
    elif name.startswith("/"):
        bad = "an absolute path"
    elif ".." in name.split("/"):
        bad = "a '..' component"
    if bad:
        raise UnsafeModelError(f"{archive}: member {name!r} is refused: {bad} (it could be written "
                               "outside the output folder)")
    return posixpath.normpath(name)


def _zip_members(archive: Path, zf: zipfile.ZipFile) -> Iterator[_Member]:
    for info in zf.infolist():
        # Unix mode bits, if the writer stored them; zips written without a
        # file type (as ESPnet's pack writes meta.yaml) hold regular files.
        file_type = stat.S_IFMT(info.external_attr >> 16)
        if info.is_dir():
            yield _Member(info.filename, 0, True, info)
            continue
        if file_type and file_type != stat.S_IFREG:
            raise UnsafeModelError(f"{archive}: member {info.filename!r} is refused: not a regular file "
                                   "(a link or special file)")
        yield _Member(info.filename, info.file_size, False, info)


def _tar_members(archive: Path, tf: tarfile.TarFile) -> Iterator[_Member]:
    for info in tf.getmembers():
        if info.isdir():
            yield _Member(info.name, 0, True, info)
            continue
        if not info.isreg():
            kind = "a symbolic link" if info.issym() else "a hard link" if info.islnk() else "a special file"
            raise UnsafeModelError(f"{archive}: member {info.name!r} is refused: {kind}, not a regular file")
        yield _Member(info.name, info.size, False, info)


class _Archive:
    """A zip or tar archive, read-only, with the same member view for both."""

    def __init__(self, path: Path):
        self.path = path
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such model archive")
        if zipfile.is_zipfile(path):
            self._zip, self._tar = zipfile.ZipFile(path), None
        elif tarfile.is_tarfile(path):
            self._zip, self._tar = None, tarfile.open(path)
        else:
            raise UnsafeModelError(f"{path}: not a zip or tar archive")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        (self._zip or self._tar).close()

    def members(self) -> List[_Member]:
        found = _zip_members(self.path, self._zip) if self._zip else _tar_members(self.path, self._tar)
        return list(found)

    def read(self, member: _Member, limit: int) -> bytes:
        f = self._zip.open(member.handle) if self._zip else self._tar.extractfile(member.handle)
        with f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise UnsafeModelError(f"{self.path}: member {member.name!r} is larger than it says")
        return data


def _safe_yaml(archive: Path, name: str, data: bytes) -> Any:
    try:
        return yaml.safe_load(data)
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UnsafeModelError(f"{archive}: member {name!r} is refused: not plain YAML ({first})") from None


def _listed_names(archive: Path, meta: Any) -> Dict[str, Dict[str, str]]:
    if not isinstance(meta, dict):
        raise UnsafeModelError(f"{archive}: {META} is not a mapping")
    out = {}
    for section in ("files", "yaml_files"):
        entries = meta.get(section, {})
        if not isinstance(entries, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in entries.items()
        ):
            raise UnsafeModelError(f"{archive}: {META}: '{section}' must map names to member paths")
        out[section] = {k: _check_name(archive, v) for k, v in entries.items()}
    return out


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def _replace_paths(value: Any, names: Dict[str, str]) -> Any:
    """Copy of a YAML value whose strings naming a member become the extracted path."""
    if isinstance(value, dict):
        return {k: _replace_paths(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_paths(v, names) for v in value]
    if isinstance(value, str) and value in names:
        return names[value]
    return value


def unpack_model(archive: PathLike, outdir: PathLike) -> Dict[str, str]:
    """Unpack a packed model into outdir, refusing anything a packed model does not hold.

    Every member is checked before any file is written. The YAML files that
    meta.yaml lists (the training config) are rewritten so that their paths
    to packed files (statistics) point into outdir, as ESPnet's unpack does.

    Args:
        archive: zip or tar(.gz) made by ``python -m espnet2.bin.pack``.
        outdir: folder to unpack into (created).

    Returns:
        {key of meta.yaml's files and yaml_files: unpacked path}, e.g.
        train_config and model_file.

    Raises:
        UnsafeModelError: the archive holds something else; names the member.
    """
    archive, outdir = Path(archive), Path(outdir).resolve()
    with _Archive(archive) as arc:
        members = [m for m in arc.members() if not m.is_dir]
        by_name: Dict[str, _Member] = {}
        total = 0
        for m in members:
            name = _check_name(archive, m.name)
            if name in by_name:
                raise UnsafeModelError(f"{archive}: member {m.name!r} is refused: it appears twice")
            if m.size > MAX_MEMBER_BYTES:
                raise UnsafeModelError(f"{archive}: member {m.name!r} is refused: {m.size} bytes, over the "
                                       f"{MAX_MEMBER_BYTES}-byte limit")
            total += m.size
            by_name[name] = m
        if total > MAX_TOTAL_BYTES:
            raise UnsafeModelError(f"{archive}: {total} bytes in all, over the {MAX_TOTAL_BYTES}-byte limit")
        if META not in by_name:
            raise UnsafeModelError(f"{archive}: no {META} at the top level: not a packed model")
        meta = _safe_yaml(archive, META, arc.read(by_name[META], MAX_MEMBER_BYTES))
        listed = _listed_names(archive, meta)
        wanted = {META, *listed["files"].values(), *listed["yaml_files"].values()}
        for name in wanted - set(by_name):
            raise UnsafeModelError(f"{archive}: {META} lists {name!r}, which the archive does not hold")
        configs = {name: _safe_yaml(archive, name, arc.read(by_name[name], by_name[name].size))
                   for name in listed["yaml_files"].values()}
        referenced = {s for conf in configs.values() for s in _strings(conf) if s in by_name}
        for name in by_name:
            if name not in wanted | referenced:
                raise UnsafeModelError(f"{archive}: member {name!r} is refused: neither listed in {META} "
                                       "nor named by the config it lists")

        targets = {name: outdir / name for name in by_name}
        for name, path in targets.items():
            if outdir not in path.resolve().parents:
                raise UnsafeModelError(f"{archive}: member {name!r} is refused: it resolves outside {outdir}")
        # Checked; now write.
        for name, member in by_name.items():
            if name in configs:
                conf = _replace_paths(configs[name], {n: str(p) for n, p in targets.items()})
                data = yaml.safe_dump(conf, allow_unicode=True).encode("utf-8")
            else:
                data = arc.read(member, member.size)
            targets[name].parent.mkdir(parents=True, exist_ok=True)
            targets[name].write_bytes(data)
    return {key: str(targets[name]) for section in ("yaml_files", "files")
            for key, name in listed[section].items()}


def unpack_converter(archive: PathLike, outdir: PathLike) -> Dict[str, str]:
    """:func:`unpack_model` for a packed model of this task: its files must name a config and a model.

    Raises:
        UnsafeModelError: as unpack_model, or meta.yaml names no train_config or model_file.
    """
    files = unpack_model(archive, outdir)
    for key in ("train_config", "model_file"):
        if key not in files:
            raise UnsafeModelError(f"{archive}: meta.yaml names no {key}: not a packed model of this task")
    return files


def load_state_dict(model_file: PathLike, map_location: Union[str, torch.device] = "cpu") -> Dict[str, torch.Tensor]:
    """A model's parameters from a file, read without running any pickled code.

    Raises:
        UnsafeModelError: the file holds anything but tensors and plain values
            (e.g. a pickled object whose loading would run a command), or is
            not a mapping of names to tensors; names the file.
    """
    try:
        state = torch.load(model_file, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:  # UnpicklingError, or RuntimeError for a broken file
        raise UnsafeModelError(
            f"{model_file}: refused: not a plain state dict of tensors ({str(e).splitlines()[0]})"
        ) from None
    if isinstance(state, dict) and isinstance(state.get("module"), dict):  # DeepSpeed-style wrapper
        state = state["module"]
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise UnsafeModelError(f"{model_file}: refused: not a mapping of parameter names to tensors")
    return state
