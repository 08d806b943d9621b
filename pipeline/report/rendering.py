"""What every page of the tool (video reports, the batch index, the agreement page) is made with: the
Jinja templates of ``assets/report``, JSON inside a ``<script>``, plotly.js packed into the page, links
between pages, and the atomic write of a page."""
from __future__ import annotations

import base64
import contextlib
import functools
import gzip
import json
from pathlib import Path
from urllib.parse import quote

import numpy as np

from common.fileio import stale_parts, write_text_atomic

from ..export import relative_path

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "assets" / "report"
# a page is written in well under a second: a temporary .part file a minute old is a killed writer's
# (younger ones may be another run's write in progress, and are left alone)
STALE_PART_S = 60.0


def mmss(t: float) -> str:
    """A time in seconds as ``m:ss.ss`` (negative times as 0)."""
    m, s = divmod(max(t, 0.0), 60)
    return f"{int(m)}:{s:05.2f}"


@functools.lru_cache(maxsize=1)
def plotly_js_packed() -> str:
    """plotly.js from the installed plotly package, gzip-compressed, base64 (about a third of its size;
    the page unpacks it with the browser's DecompressionStream)."""
    from plotly.offline import get_plotlyjs

    return base64.b64encode(gzip.compress(get_plotlyjs().encode("utf-8"), 9, mtime=0)).decode("ascii")


def template_env(**filters):
    """The pages' Jinja environment (``assets/report``): autoescaped, strict, with ``tojson_script`` and
    the given filters (the agreement page uses it too)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson_script"] = json_for_script
    env.filters.update(filters)
    return env


@functools.lru_cache(maxsize=1)
def report_env():
    """The environment of the video reports and the batch index (``template_env`` with ``mmss``)."""
    return template_env(mmss=mmss)


def json_for_script(obj, allow_nan: bool = True) -> str:
    """JSON safe inside a <script> element (``allow_nan=False``: NaN refused, as JSON has none)."""
    from markupsafe import Markup

    text = json.dumps(obj, separators=(",", ":"), default=_json_default, allow_nan=allow_nan)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def page_link(target: Path, start: Path) -> str:
    """A link to ``target`` from a page in the folder ``start``: relative, URL-quoted (absolute on another
    drive)."""
    path = Path(relative_path(target, start))
    return path.as_uri() if path.is_absolute() else quote(path.as_posix())


def write_page(path: Path, text: str) -> None:
    """Write a page atomically, then remove the temporary files a killed writer of it left."""
    write_text_atomic(path, text)
    _remove_stale_parts(path)


def _remove_stale_parts(page: Path) -> None:
    """Temporary files of ``page`` that a killed writer left (``STALE_PART_S``)."""
    for part in stale_parts(page, STALE_PART_S):
        with contextlib.suppress(OSError):
            part.unlink()
