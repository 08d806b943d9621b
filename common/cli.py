"""What every command line of the tool does the same way: errors as one line, user text never markup."""
from __future__ import annotations

import atexit
import errno
import os
import re
import sys
from typing import NoReturn

from rich.markup import escape

from common.errors import is_user_error

# exit codes: all done; some input failed (each named); bad arguments or configuration (nothing done); Ctrl-C
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def program_name(script: str, *modules: str) -> str:
    """How the user started this command, for its ``--help`` (usage line and examples): ``python -m MODULE``
    when run with ``-m`` (one of ``modules``, a package's ``__main__`` included), ``python FILE.py`` when run
    as a file, else the installed command ``script`` (``microaction-run``; also when called from Python)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None:
        name = spec.name.removesuffix(".__main__")
        if name in modules:
            return f"python -m {name}"
        return script
    argv0 = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    as_file = {m.rsplit(".", 1)[-1] + ".py" for m in modules}
    return f"python {argv0}" if argv0 in as_file else script


def one_line(message: object) -> str:
    """A message (or exception) on one line."""
    return " ".join(str(message).split()) or type(message).__name__


# what a terminal would act on rather than show: C0/C1 controls (ANSI escape sequences, carriage
# return, backspace), line and paragraph separators, bidirectional overrides (text shown reversed), and
# lone surrogates (the bytes of a file name that is not UTF-8: no terminal encoding can print them)
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def visible(text: object) -> str:
    """``text`` safe to print on a terminal: the characters a terminal would act on are shown as their
    escapes (``\\x1b``, ``\\u202e``), so a file or label name can neither colour, move nor forge output."""
    return _INVISIBLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def terminal_line(message: object) -> str:
    """A message as one line for a terminal (``one_line``, then ``visible``), without markup."""
    return visible(one_line(message))


def print_error(console, message: object) -> None:
    """``error: MESSAGE`` on one line; file names in it are shown as they are (``[draft]`` stays), control
    characters as escapes."""
    console.print(f"[red]error:[/red] {escape(terminal_line(message))}", highlight=False, soft_wrap=True)


# a path the user named that is not there (or not a file / not a folder): the user's, with the path in
# the message; any other OSError outside ``common.errors.ENVIRONMENT_ERRNOS`` is a bug
_MISSING_PATH = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR}


def is_command_user_error(e: BaseException) -> bool:
    """Whether a command's failure is the user's (``common.errors.is_user_error``, or a named path that is
    missing) rather than a bug of ours."""
    return is_user_error(e) or (isinstance(e, OSError) and e.filename is not None and e.errno in _MISSING_PATH)


def user_error_exit(console, e: BaseException) -> int:
    """For a command's ``except Exception``: a user error is printed on one line and gives ``EXIT_USAGE``;
    anything else is a bug, raised again with its traceback (never shown as the user's mistake)."""
    if not is_command_user_error(e):
        raise e
    print_error(console, e)
    return EXIT_USAGE


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` once a command's work is done and written: the exit handlers run
    (logging, multiprocessing, Ray), then the process ends without the interpreter tearing its modules
    down, which with torch and MediaPipe loaded took 0.5-0.9 s at the end of every run (measured)."""
    atexit._run_exitfuncs()  # what a normal exit runs first (the documented handlers, in their order)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or a pipe whose reader went away
            pass
    os._exit(code)
