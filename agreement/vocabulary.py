"""Labels as coders write them -> the label set's actions and body parts.

A label is an action of the label set (its code, name, id, or ``CODE NAME``, as ``B1 nodding``) or one
of its body parts (``head``); case, repeated spaces and ``_`` for a space do not matter, and a trailing
remark in brackets (``nodding (unsure)``, ``B1 nodding (0.87)`` as this tool's ELAN files write) is
passed over when the label without it is known. A mapping file (``--map``) renames labels first: a
lab's own scheme to MA-52 codes or body parts, or to nothing (the annotation is left out).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from definitions.labels import Action, LabelSet

from .errors import AgreementError

IGNORE = ("", "-")  # mapping targets that leave an annotation out
_REMARK = re.compile(r"\s*\([^()]*\)\s*$")


def normalise(label: str) -> str:
    return " ".join(label.replace("_", " ").split()).casefold()


@dataclass(frozen=True)
class Rename:
    """One row of a mapping file."""
    source: str
    target: str
    where: str  # file:line


@dataclass(frozen=True)
class Label:
    """What a label names: an action (and so its body part), or a body part only."""
    action: Action | None
    body_id: int


class Vocabulary:
    """The label set (and a mapping) that every source's labels are read with."""

    def __init__(self, labels: LabelSet, mapping: list[Rename] = ()):
        self.labels = labels
        self._known: dict[str, Label] = {}
        for body_id, body_name in labels.bodies.items():
            self._known[normalise(body_name)] = Label(None, body_id)
        for a in labels.actions:  # actions win over a body part of the same name
            for key in (a.code, a.name, str(a.id), f"{a.code} {a.name}"):
                self._known[normalise(key)] = Label(a, a.body_id)
        self._mapping: dict[str, Label | None] = {}
        for row in mapping:
            if row.target in IGNORE:
                self._mapping[normalise(row.source)] = None
                continue
            known = self._lookup(row.target)
            if known is None:
                raise AgreementError(f"{row.where}: maps {row.source!r} to {row.target!r}, which is not in the label "
                                     f"set {labels.name!r} (an action code or name, a body part, or - to leave it out)")
            self._mapping[normalise(row.source)] = known

    def _lookup(self, label: str) -> Label | None:
        key = normalise(label)
        if key in self._known:
            return self._known[key]
        bare = _REMARK.sub("", key)
        return self._known.get(bare) if bare != key else None

    def read(self, label: str, where: str) -> Label | None:
        """The label's action / body part; None when the mapping leaves it out. Unknown labels raise an
        ``AgreementError`` naming ``where``."""
        if not label.strip():
            raise AgreementError(f"{where}: the annotation has no label")
        for key in (normalise(label), _REMARK.sub("", normalise(label))):
            if key in self._mapping:
                return self._mapping[key]
        known = self._lookup(label)
        if known is None:
            hint = " or in the mapping file" if self._mapping else " (--map FILE renames other labels)"
            raise AgreementError(f"{where}: label {label.strip()!r} is not in the label set {self.labels.name!r}"
                                 f"{hint}; labels are action codes or names, or body parts "
                                 f"({', '.join(self.labels.bodies.values())})")
        return known

    def body_name(self, body_id: int) -> str:
        return self.labels.bodies[body_id]


def read_mapping(path: Path) -> list[Rename]:
    """A mapping file: columns ``from`` and ``to``, tab-separated (comma-separated when the file ends in
    ``.csv``), a header line; ``#`` lines are comments; ``to`` empty or ``-``: leave the label out."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise AgreementError(f"{path}: cannot read the mapping file ({getattr(e, 'strerror', None) or e})") from None
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip() and not line.startswith("#")]
    if not numbered:
        raise AgreementError(f"{path}: the mapping file is empty (needs a header 'from', 'to' and a row per label)")
    rows = list(csv.reader([line for _, line in numbered], delimiter="," if path.suffix.lower() == ".csv" else "\t"))
    header = [h.strip().lower() for h in rows[0]]
    if "from" not in header or "to" not in header:
        raise AgreementError(f"{path}:{numbered[0][0]}: the mapping file needs the columns 'from' and 'to' "
                             f"({'comma' if path.suffix.lower() == '.csv' else 'tab'}-separated); got {rows[0]}")
    i, j = header.index("from"), header.index("to")
    out: list[Rename] = []
    for (n, _), row in zip(numbered[1:], rows[1:]):
        source = row[i].strip() if i < len(row) else ""
        if not source:
            raise AgreementError(f"{path}:{n}: column 'from' is empty")
        if normalise(source) in {normalise(r.source) for r in out}:
            raise AgreementError(f"{path}:{n}: {source!r} is mapped twice")
        out.append(Rename(source, row[j].strip() if j < len(row) else "", f"{path}:{n}"))
    return out
