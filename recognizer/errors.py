"""The recognizer's errors, importable without torch (the command line handles them before and while
the models load)."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message is one line naming the file and the cause."""
