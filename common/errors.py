"""The tool's one family of user errors: a problem with what the user gave it (a file, an option, the
output folder or disk), never a bug of ours. Its message is one line that names the file or option and
the cause, and is shown as it is, with no traceback kept. Everything else is a bug: shown with its type,
its traceback kept in the output folder's ``errors.log`` (``pipeline.failures``).

Each module's own error (``VideoError``, ``CheckpointError``, ...) derives from ``UserError`` and from the
built-in class it was before (``ValueError``, ``RuntimeError``, ``OSError``), so existing handlers still
catch it.
"""
from __future__ import annotations

import errno


class UserError(Exception):
    """A problem with the user's input or environment; the message is one line naming it."""


class OptionError(UserError, ValueError):
    """An option (or a combination of options) that cannot work here."""


class OutputError(UserError, OSError):
    """The output folder or its disk cannot take what must be written."""


# operating-system errors that are the environment's, not a bug's (a full disk, a read-only folder)
ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def is_user_error(e: BaseException) -> bool:
    """Whether ``e`` is the user's or the environment's problem rather than a bug of ours."""
    return isinstance(e, UserError) or (isinstance(e, OSError) and e.errno in ENVIRONMENT_ERRNOS)
