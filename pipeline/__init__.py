"""The video pipeline. ``__version__`` is the package's version, read from here by ``pyproject.toml`` and
written into every record (``pipeline.record.TOOL``): its minor number is the record's schema version
(``pipeline.record.SCHEMA_VERSION``), its patch number goes up with every release whose results differ.
Between releases the method's digest (``pipeline.method``, the record's ``tool.method``) names exactly the
code and constants that computed a record; ``--resume`` compares both (``pipeline.options``)."""

__version__ = "0.3.0"
