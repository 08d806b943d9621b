"""The recognizer's errors, importable without torch (the command line handles them before and while
the models load)."""


from common.errors import UserError


class CheckpointError(UserError, ValueError):
    """A checkpoint that cannot be used; the message is one line naming the file and the cause."""
