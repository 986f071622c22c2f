"""Embedded tiny voice-conversion corpus, synthesised locally with eSpeak NG.

``sentences`` writes the English text, ``espeak`` drives the eSpeak NG shared
library shipped by the ``espeakng-loader`` wheel, and ``mini`` lays the audio
out like the VCC2016 corpus so the ordinary data preparation consumes it.
"""
