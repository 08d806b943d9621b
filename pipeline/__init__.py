"""The video pipeline. ``__version__`` is the package's version, read from here by ``pyproject.toml`` and
written into every record (``pipeline.record.TOOL``)."""

__version__ = "0.1.0"
