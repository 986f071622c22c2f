"""Embedded tiny voice-conversion corpus, synthesised locally with eSpeak NG.

The data preparation of the mini_vc recipe (run by local/data.sh through
local/make_mini_corpus.py). It needs the ``espeakng-loader`` package, which
the plugin itself does not: the plugin's ``mini`` extra installs it
(``pip install -e '<repository>[mini]'``).

``sentences`` writes the English text, ``espeak`` drives the eSpeak NG shared
library shipped by the ``espeakng-loader`` wheel, and ``mini`` lays the audio
out like the VCC2016 corpus so the ordinary data preparation consumes it.
"""
