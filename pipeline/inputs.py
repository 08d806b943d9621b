"""The command line's inputs: video files, folders and list files -> one job per video, with output
paths that mirror the input tree. Light to import (no torch, no pose model), so bad inputs are reported
at once."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from common.errors import UserError
from common.fileio import ensure_writable_dir

from .video_probe import VIDEO_EXTENSIONS


class InputError(UserError, ValueError):
    """Bad command-line input (missing path, folder without videos, unwritable output)."""


@dataclass
class VideoJob:
    path: Path
    rel: Path  # output location relative to --out, without suffix

    def outputs(self, out: Path) -> dict[str, Path]:
        base = out / self.rel
        paths = {k: base.with_name(base.name + suffix) for k, suffix in
                 (("json", ".json"), ("csv", ".csv"), ("eaf", ".eaf"), ("pose", ".pose.npz"),
                  ("overlay", ".overlay.mp4"), ("report", ".report.html"))}
        paths["lock"] = base.with_name(f".{base.name}.lock")
        paths["parts"] = base.with_name(f".{base.name}.pose-parts")  # finished pose chunks (pipeline.posework)
        return paths


def _is_video(p: Path) -> bool:
    return p.suffix.lower() in VIDEO_EXTENSIONS and not p.name.startswith(".")


def _ours(video: Path, folder: Path, out: Path | None) -> bool:
    """A video the tool wrote (in the output folder ``out``, which may lie inside an input folder)."""
    if out is None or not video.resolve().is_relative_to(out):
        return False
    return video.name.endswith(".overlay.mp4") or out != folder.resolve()


def _videos_in(folder: Path, skip: Path | None) -> list[Path]:
    """The videos under ``folder``, searched recursively through symlinked folders too (each real folder
    once: a link back up the tree is not followed round), as paths below ``folder`` as given."""
    found, visited = [], set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in visited:
            dirs[:] = []
            continue
        visited.add(real)
        dirs.sort()
        dirs[:] = [d for d in dirs if os.path.realpath(os.path.join(root, d)) not in visited]
        found += [q for q in (Path(root) / name for name in files)
                  if _is_video(q) and q.is_file() and not _ours(q, folder, skip)]
    return sorted(found)


def collect_inputs(inputs: list[str | Path], exclude: Path | None = None) -> list[VideoJob]:
    """Files, folders (recursive) and list files (.txt/.lst, one path per line, relative to the list)
    -> jobs whose output paths mirror the input tree below the existing inputs' common folder (so equal
    names never collide; a listed file that is missing fails later as that video). Videos the tool
    wrote inside ``exclude`` (the output folder) are not inputs."""
    found: list[Path] = []
    skip = exclude.resolve() if exclude is not None else None
    for item in inputs:
        p = Path(item).expanduser()
        if not p.exists():
            raise InputError(f"{p}: no such file or folder")
        if p.is_dir():
            vids = _videos_in(p, skip)
            if not vids:
                raise InputError(f"{p}: folder holds no video ({', '.join(sorted(VIDEO_EXTENSIONS))})")
            found.extend(vids)
        elif p.suffix.lower() in (".txt", ".lst"):
            try:
                lines = p.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as e:
                raise InputError(f"{p}: cannot read the list ({getattr(e, 'strerror', None) or e})") from None
            for n, ln in enumerate(lines, start=1):
                ln = ln.strip()
                if ln and not ln.startswith("#"):
                    q = Path(ln).expanduser()
                    found.append(q if q.is_absolute() else (p.parent / q))  # a missing one fails as that video
        else:
            found.append(p)
    seen, unique = set(), []
    for f in found:
        key = f.resolve()  # a video reached by two paths (a link) is one video
        if key not in seen:
            seen.add(key)
            unique.append(f)
    if not unique:
        raise InputError("no video to process")
    # the output tree mirrors the existing inputs below their common folder (a missing listed file
    # must not pull it up to the file system's root), from the paths as given: where a symlink points
    # moves no output
    given = [Path(os.path.abspath(f)) for f in unique]
    parents = [g.parent for g in given if g.exists()] or [given[0].parent]
    base = Path(os.path.commonpath(parents)) if len(parents) > 1 else parents[0]
    jobs, taken = [], set()
    for f, g in zip(unique, given):
        rel = g.relative_to(base) if g.is_relative_to(base) else Path(g.name)
        stem = rel.with_suffix("")
        if str(stem) in taken:  # clip.mp4 and clip.mov in one folder
            stem = rel.with_name(rel.stem + "_" + rel.suffix.lstrip(".").lower())
        taken.add(str(stem))
        jobs.append(VideoJob(f, stem))
    return jobs


def check_name_encoding(path: Path) -> None:
    """``InputError`` for a path that is not valid UTF-8 (a name written by an old system in Latin-1, say):
    the decoder, the probe and every export need a UTF-8 name, so the video is refused with one line that
    says how to rename it, and the batch goes on."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:  # (the batch names the file before this line, its odd bytes as escapes)
        raise InputError("the file name is not valid UTF-8 (the decoder and the exports need UTF-8 "
                         "names); rename it, e.g. convmv -f latin1 -t utf8 --notest FILE") from None


def check_output_dir(out: Path) -> None:
    try:
        ensure_writable_dir(out)
    except OSError as e:
        raise InputError(str(e)) from None
