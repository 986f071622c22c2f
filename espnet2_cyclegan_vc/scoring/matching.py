"""Which converted, source and target utterances belong together: wav.scp files matched by sentence id."""

import dataclasses
import logging
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

from espnet2_cyclegan_vc.fileio import ScpError, read_scp


class ScoringError(ValueError):
    """Inputs that cannot be scored (e.g. no utterance in common)."""


def read_wav_scp(path: Union[str, Path]) -> Dict[str, str]:
    """Read a Kaldi wav.scp of "<utt_id> <file path>" lines.

    Raises:
        ScoringError: missing file, malformed or duplicate line, or a piped
            command entry (not supported: scoring reads plain files).
    """
    path = Path(path)
    if not path.is_file():
        raise ScoringError(f"{path}: no such wav.scp")
    try:
        entries = dict(read_scp(path))
    except ScpError as e:
        raise ScoringError(str(e)) from None
    for utt, wav in entries.items():
        if wav.endswith("|"):
            raise ScoringError(f"{path}: {utt}: piped entries are not supported, give a file path")
    return entries


def sentence_ids(entries: Dict[str, str], spk: str, scp_name: str) -> Dict[str, str]:
    """Map sentence id -> utterance id by stripping the "<spk>_" prefix.

    Ids without the prefix are kept whole (with a warning), so data dirs that
    use bare sentence ids still match.
    """
    prefix = f"{spk}_"
    result: Dict[str, str] = {}
    bare = []
    for utt in entries:
        if utt.startswith(prefix):
            sent = utt[len(prefix):]
        else:
            sent = utt
            bare.append(utt)
        if sent in result:
            raise ScoringError(
                f"{scp_name}: utterances {result[sent]} and {utt} are the same sentence {sent}"
            )
        result[sent] = utt
    if bare:
        logging.warning(
            "%s: %d id(s) lack the prefix %r and are matched as whole ids: %s",
            scp_name, len(bare), prefix, preview_ids(bare),
        )
    return result


def preview_ids(ids: Sequence[str], limit: int = 10) -> str:
    ids = sorted(ids)
    more = f" ... (+{len(ids) - limit} more)" if len(ids) > limit else ""
    return " ".join(ids[:limit]) + more


@dataclasses.dataclass
class MatchedSet:
    """Sentences present in all three scp files, and what was left out.

    Attributes:
        sentences: sorted sentence ids present in converted, source and target.
        converted, source, target: sentence id -> (utterance id, wav path).
        unmatched: scp role -> utterance ids of that scp that were not scored.
    """

    sentences: List[str]
    converted: Dict[str, Tuple[str, str]]
    source: Dict[str, Tuple[str, str]]
    target: Dict[str, Tuple[str, str]]
    unmatched: Dict[str, List[str]]


def match_scps(
    converted_scp: Union[str, Path],
    source_scp: Union[str, Path],
    target_scp: Union[str, Path],
    source_spk: str,
    target_spk: str,
) -> MatchedSet:
    """Match converted, source and target utterances by sentence id.

    Raises:
        ScoringError: an scp cannot be read, or no sentence is in all three.
    """
    roles = {
        "converted": (converted_scp, source_spk),  # converted keeps the source id
        "source": (source_scp, source_spk),
        "target": (target_scp, target_spk),
    }
    by_sent: Dict[str, Dict[str, Tuple[str, str]]] = {}
    for role, (scp, spk) in roles.items():
        entries = read_wav_scp(scp)
        sents = sentence_ids(entries, spk, str(scp))
        by_sent[role] = {s: (u, entries[u]) for s, u in sents.items()}
    common = set(by_sent["converted"]) & set(by_sent["source"]) & set(by_sent["target"])
    if not common:
        raise ScoringError(
            "no sentence id is in all of "
            f"--converted_scp {converted_scp} ({len(by_sent['converted'])} utts, spk {source_spk}), "
            f"--source_scp {source_scp} ({len(by_sent['source'])} utts, spk {source_spk}) and "
            f"--target_scp {target_scp} ({len(by_sent['target'])} utts, spk {target_spk}); "
            "ids must be <spk>_<sentence id>"
        )
    unmatched = {}
    for role, table in by_sent.items():
        left = [utt for sent, (utt, _) in table.items() if sent not in common]
        unmatched[role] = sorted(left)
        if left:
            logging.warning(
                "%d %s utterance(s) have no counterpart in the other scp files and are "
                "not scored: %s", len(left), role, preview_ids(left),
            )
    return MatchedSet(
        sentences=sorted(common),
        converted=by_sent["converted"],
        source=by_sent["source"],
        target=by_sent["target"],
        unmatched=unmatched,
    )
