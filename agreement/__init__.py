"""Agreement with human coders: ``microaction-agree REFERENCE OTHER`` compares two annotation sources
(this tool's records, ELAN files, CSVs) of the same videos, event by event and frame by frame.

Layers: ``vocabulary`` (labels -> the label set), ``sources`` (files -> codings), ``measures`` (pure
functions on timed categories), ``compare`` (paired videos -> rows), ``page`` (HTML), ``cli``.
"""
