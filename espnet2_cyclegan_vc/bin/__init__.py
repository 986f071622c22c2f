"""Command-line entry points (``python -m espnet2_cyclegan_vc.bin.<name>``).

The shared set-up of their logging lives here so every entry point prints the
same ESPnet-style lines and takes the same ``--log_level``.
"""

import argparse
import logging

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
