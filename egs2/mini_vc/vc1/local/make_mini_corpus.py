#!/usr/bin/env python3
"""Generate the mini corpus: python3 local/make_mini_corpus.py --outdir DIR [--seed N]
[--num_train N] [--num_eval N] [--force] (see local/mini_corpus/mini.py).

Python puts this script's folder, local/, first on sys.path, which makes the
mini_corpus package importable from any working directory.
"""

import sys

from mini_corpus.mini import main

if __name__ == "__main__":
    main(sys.argv[1:])
