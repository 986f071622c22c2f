"""The two conversion directions between a source (X) and a target (Y) speaker."""

from typing import Tuple

DIRECTIONS = ("src_to_trg", "trg_to_src")


def direction_sides(direction: str) -> Tuple[str, str]:
    """Speakers a direction converts from and to.

    Args:
        direction: "src_to_trg" or "trg_to_src".

    Returns:
        (input side, output side): ("src", "trg") or ("trg", "src").
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    in_side, out_side = direction.split("_to_")
    return in_side, out_side
