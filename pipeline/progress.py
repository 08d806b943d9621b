"""Progress display (overall and per-video stage, with ETA) and the end-of-run summary table."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.table import Table

from common.cli import terminal_line


def shown(text: object) -> str:
    """User text (file names, messages) for rich: one line, control characters as escapes, never markup."""
    return escape(terminal_line(text))


class Reporter(Protocol):
    """What a batch run tells whoever shows its progress (``RichReporter`` on a terminal; nothing by default)."""

    def start_video(self, job) -> None: ...

    def stage(self, name: str, total: int | None = None) -> None: ...

    def frame(self, n: int) -> None: ...

    def end_video(self, outcome) -> None: ...


class NullReporter:
    """Shows nothing (a batch run without a terminal: tests, scripts)."""

    def start_video(self, job): ...
    def stage(self, name, total=None): ...
    def frame(self, n): ...
    def end_video(self, outcome): ...


class RichReporter:
    def __init__(self, console: Console, total: int):
        self.console = console
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"),
                                 TimeRemainingColumn(), console=console, transient=False)
        self.overall = self.progress.add_task("videos", total=total)
        self.current = None
        self.name = ""

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:  # the run stopped with an error, printed next on its own line: no bar left
            self.progress.live.transient = True
        return self.progress.__exit__(*exc)

    def start_video(self, job) -> None:
        self.name = shown(job.path.name)  # file names are shown as they are, never as markup
        self.stage("starting")

    def stage(self, name: str, total: int | None = None) -> None:
        """A new line for the stage: its own count (or none), nothing left from the stage before."""
        if self.current is not None:
            self.progress.remove_task(self.current)
        self.current = self.progress.add_task(f"{self.name}: {name}", total=total)

    def frame(self, n: int) -> None:
        self.progress.update(self.current, completed=n)

    def end_video(self, outcome) -> None:
        if self.current is not None:  # the finished video's stage line goes
            self.progress.remove_task(self.current)
            self.current = None
        self.progress.advance(self.overall)
        if outcome.status == "failed":
            self.console.print(f"[red]failed:[/red] {shown(outcome.message)}", highlight=False, soft_wrap=True)


def print_summary(console: Console, summary, out) -> None:
    table = Table(title=f"Summary ({shown(out)})")
    for col in ("video", "status", "segments", "seconds", "message"):
        table.add_column(col, overflow="fold")
    for o in summary.outcomes:
        colour = {"done": "green", "skipped": "cyan", "failed": "red"}[o.status]
        table.add_row(shown(o.job.rel.parent / o.job.path.name), f"[{colour}]{o.status}[/{colour}]",
                      str(o.segments) if o.status == "done" else "", f"{o.seconds:.1f}" if o.seconds else "",
                      shown(o.message) if o.status == "skipped" else "see below" if o.message else "")
    console.print(table)
    done = sum(o.status == "done" for o in summary.outcomes)
    skipped = sum(o.status == "skipped" for o in summary.outcomes)
    if summary.interrupted:
        console.print("[yellow]Interrupted.[/yellow] Finished videos are complete; rerun with --resume to go on.")
    for o in summary.failed:
        console.print(f"[red]failed:[/red] {shown(o.message)}", highlight=False, soft_wrap=True)
    for o in summary.outcomes:  # done, with warnings (frames that could not be decoded, a report not written)
        if o.status == "done" and o.message:
            console.print(f"[yellow]{shown(o.job.path)}:[/yellow] {shown(o.message)}", highlight=False, soft_wrap=True)
    busy = len(summary.busy)
    console.print(f"{done} done, {skipped} skipped, {len(summary.failed)} failed"
                  + (f" ({busy} skipped as busy in another run: not done, rerun with --resume once it is done)"
                     if busy else ""))
    index = Path(out) / "index.html"
    if not summary.interrupted and index.is_file():
        console.print(f"Review in a browser: {shown(index)} (summary table: {shown(index.with_name('summary.csv'))})",
                      highlight=False, soft_wrap=True)
