"""Command-line entry points (``python -m espnet2_cyclegan_vc.bin.<name>``).

What every entry point shares lives here: the same ESPnet-style log lines and
``--log_level``, the same argument types, and one way to end on an error
(:func:`run_main`).
"""

import argparse
import logging
import sys
from typing import Callable, Tuple

LOG_FORMAT = "%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET")


def add_log_level_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--log_level`` (case-insensitive, default INFO) as ESPnet's tools have it."""
    parser.add_argument("--log_level", type=lambda x: x.upper(), default="INFO",
                        choices=LOG_LEVELS, help="The verbose level of logging")


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format=LOG_FORMAT)


def int_at_least(minimum: int):
    """argparse type: an int no smaller than ``minimum``, else a usage error."""

    def parse(value: str) -> int:
        n = int(value)
        if n < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return n

    return parse


positive_int = int_at_least(1)


def positive_float(value: str) -> float:
    """argparse type: a float above 0 (and finite), else a usage error."""
    x = float(value)
    if not 0 < x < float("inf"):
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return x

# Errors that the user can fix: bad input data or options (every error class
# of this package about input, e.g. AudioError or ScoringError, is a
# ValueError) and files that are missing or unreadable.
USER_ERRORS = (ValueError, OSError)


def run_main(prog: str, job: Callable[[], object], user_errors: Tuple[type, ...] = USER_ERRORS) -> None:
    """Run an entry point's work; a user error ends it with one line and exit status 1.

    A user error (one of ``user_errors``) is logged as ``<prog>: error: <message>``
    on stderr, without a traceback (``--log_level DEBUG`` adds it). Anything
    else is a bug and propagates with its traceback.
    """
    try:
        job()
    except user_errors as e:
        logging.error("%s: error: %s", prog, e)
        logging.debug("traceback", exc_info=True)
        sys.exit(1)


def main_with_options(prog: str, parser: argparse.ArgumentParser, job: Callable[..., object], cmd=None) -> None:
    """The whole main() of an entry point whose job takes its options as keyword arguments.

    Parses cmd (None: sys.argv), sets up logging by --log_level, then runs
    ``job(**options)`` (every option but --log_level) under :func:`run_main`.
    """
    args = parser.parse_args(cmd)
    setup_logging(args.log_level)
    options = {k: v for k, v in vars(args).items() if k != "log_level"}
    run_main(prog, lambda: job(**options))
