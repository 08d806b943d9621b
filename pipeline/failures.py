"""How failures are told: one line for the user (a user error explains itself; a bug of ours names its
type), and a bug's traceback kept in ``OUT/errors.log``; warnings on one line of stderr."""
from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

from common.cli import terminal_line
from common.errors import is_user_error

# the user's problems (common.errors: a bad file, option, folder or disk) explain themselves in one line; every
# other exception is a bug of ours, whose traceback is kept in OUT/errors.log (``log_traceback``)


def one_line_error(e: BaseException) -> str:
    """``e`` on one line: a user error's own message; a bug's with its type named first."""
    msg = " ".join(str(e).split()) or type(e).__name__
    return msg if is_user_error(e) else f"{type(e).__name__}: {msg}"


def error_line(e: BaseException, out: Path, what: str) -> str:
    """``e`` on one line; for a bug (not a user error), with its type, and its traceback appended to
    ``OUT/errors.log`` under ``what`` (said where)."""
    msg = one_line_error(e)
    if not is_user_error(e):
        log = log_traceback(out, what, e)
        msg += f" (traceback in {log})" if log else ""
    return msg


def log_traceback(out: Path, what: str, e: BaseException) -> Path | None:
    """Append the traceback of ``e`` (raised while doing ``what``: a video's path, "loading the models") to
    ``OUT/errors.log``; its path (None when it cannot be written)."""
    path = out / "errors.log"
    try:
        out.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8", errors="backslashreplace") as f:  # (names that are not UTF-8)
            f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {what}\n")
            f.write("".join(traceback.format_exception(type(e), e, e.__traceback__)))
        return path
    except OSError:
        return None


def warn(message: str) -> None:
    """``warning: MESSAGE`` on one line of stderr (names shown safely: ``common.cli.terminal_line``)."""
    print(f"warning: {terminal_line(message)}", file=sys.stderr)
