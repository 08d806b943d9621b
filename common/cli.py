"""What every command line of the tool does the same way: errors as one line, user text never markup."""
from __future__ import annotations

from rich.markup import escape

# exit codes: all done; some input failed (each named); bad arguments or configuration (nothing done); Ctrl-C
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def one_line(message: object) -> str:
    """A message (or exception) on one line."""
    return " ".join(str(message).split()) or type(message).__name__


def print_error(console, message: object) -> None:
    """``error: MESSAGE`` on one line; file names in it are shown as they are (``[draft]`` stays)."""
    console.print(f"[red]error:[/red] {escape(one_line(message))}", highlight=False, soft_wrap=True)
