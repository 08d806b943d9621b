"""Action label sets: MA-52 (from ``assets/ma52_labels.tsv``) or a user's own, from a checkpoint."""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from common.errors import UserError

ASSETS = Path(__file__).resolve().parent.parent / "assets"


@dataclass(frozen=True)
class Action:
    id: int
    code: str
    name: str
    body_id: int
    body_name: str

    def to_dict(self) -> dict:
        return asdict(self)


class LabelFileError(UserError, ValueError):
    """A label set file that cannot be used (one line naming the file, line and column)."""


class LabelSet:
    """Ordered actions (index = class id of the model) with their body parts."""

    def __init__(self, actions: list[Action], name: str = "custom"):
        if [a.id for a in actions] != list(range(len(actions))):
            raise ValueError("label ids must be 0..N-1 in order")
        self.actions = list(actions)
        self.name = name

    def __len__(self) -> int:
        return len(self.actions)

    def __getitem__(self, i: int) -> Action:
        return self.actions[i]

    @property
    def bodies(self) -> dict[int, str]:
        return {a.body_id: a.body_name for a in self.actions}

    def body_of(self, action_id: int) -> int:
        return self.actions[action_id].body_id

    def by_code(self, code: str) -> Action:
        for a in self.actions:
            if a.code == code:
                return a
        raise KeyError(code)

    def to_list(self) -> list[dict]:
        return [a.to_dict() for a in self.actions]

    @classmethod
    def from_list(cls, items: list[dict], name: str = "custom") -> "LabelSet":
        return cls([Action(int(d["id"]), str(d["code"]), str(d["name"]), int(d["body_id"]), str(d["body_name"]))
                    for d in items], name)

    COLUMNS = ("action_id", "code", "action_name", "body_id", "body_name")

    @classmethod
    def from_tsv(cls, path: str | Path, name: str = "custom") -> "LabelSet":
        """A label set TSV with the columns ``COLUMNS`` (tab-separated, a header line; leading ``#`` lines
        are comments, ``# label set: NAME`` names the set); every problem is a ``LabelFileError`` naming
        the file, line and column."""
        path = Path(path)
        try:  # a UTF-8 BOM (spreadsheets write one) is no part of the first column's name; lines end at
            # line ends only (splitlines would also cut a name at U+2028, U+0085, form feeds, ...)
            with open(path, encoding="utf-8-sig") as f:
                text = f.read().split("\n")
        except (OSError, UnicodeDecodeError) as e:
            raise LabelFileError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
        comments = 0
        while comments < len(text) and text[comments].startswith("#"):
            head = text[comments][1:].strip()
            if head.startswith("label set:"):  # written by to_tsv: the set's own name
                name = head.split(":", 1)[1].strip() or name
            comments += 1
        reader = csv.DictReader(text[comments:], delimiter="\t")
        missing = [c for c in cls.COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise LabelFileError(f"{path}:{comments + 1}: missing column(s) {', '.join(missing)} (a label TSV has "
                                 f"the tab-separated columns {', '.join(cls.COLUMNS)})")
        rows = [(cls._action(path, n, row), n) for n, row in enumerate(reader, start=comments + 2)]
        if not rows:
            raise LabelFileError(f"{path}: no labels (only a header line?)")
        cls._check_unambiguous(path, rows)
        acts = [a for a, _ in rows]
        acts.sort(key=lambda a: a.id)
        if [a.id for a in acts] != list(range(len(acts))):
            raise LabelFileError(f"{path}: action_id must be 0..{len(acts) - 1}, each once; "
                                 f"got {sorted(a.id for a in acts)[:10]}")
        return cls(acts, name)

    @staticmethod
    def _check_unambiguous(path: Path, rows: list[tuple[Action, int]]) -> None:
        """Each code and name names one action (annotations give either), each body id one body part."""
        names: dict[str, tuple[str, int]] = {}  # code or action name -> (what it is, its line)
        bodies: dict[int, tuple[str, int]] = {}
        ids: dict[int, int] = {}
        for a, n in rows:
            if ids.setdefault(a.id, n) != n:
                raise LabelFileError(f"{path}:{n}: action_id {a.id} is already on line {ids[a.id]}")
            for what, value in (("code", a.code), ("action_name", a.name)):
                if value in names and not (what == "action_name" and value == a.code):
                    first, line = names[value]
                    raise LabelFileError(f"{path}:{n}: {what} {value!r} is already the {first} of line {line} "
                                         "(codes and names must each name one action)")
                names.setdefault(value, (what, n))
            body, line = bodies.setdefault(a.body_id, (a.body_name, n))
            if body != a.body_name:
                raise LabelFileError(f"{path}:{n}: body_id {a.body_id} is named {a.body_name!r} here but {body!r} "
                                     f"on line {line}")

    @staticmethod
    def _action(path: Path, line: int, row: dict) -> Action:
        values = {}
        for col in LabelSet.COLUMNS:
            v = row.get(col)
            if v is None or not v.strip():
                raise LabelFileError(f"{path}:{line}: column {col} is empty")
            values[col] = v.strip()
        for col in ("action_id", "body_id"):
            if not values[col].isdecimal():
                raise LabelFileError(f"{path}:{line}: column {col} must be a whole number >= 0; got {values[col]!r}")
        return Action(int(values["action_id"]), values["code"], values["action_name"], int(values["body_id"]),
                      values["body_name"])

    def to_tsv(self) -> str:
        lines = [f"# label set: {self.name}", "\t".join(self.COLUMNS)]
        lines += [f"{a.id}\t{a.code}\t{a.name}\t{a.body_id}\t{a.body_name}" for a in self.actions]
        return "\n".join(lines) + "\n"

    def same_as(self, other: "LabelSet") -> bool:
        return self.to_list() == other.to_list()


@lru_cache(maxsize=None)
def ma52_labels() -> LabelSet:
    return LabelSet.from_tsv(ASSETS / "ma52_labels.tsv", name="MA-52")


LABELS_FILE = "labels.tsv"  # written beside exported training data (pose.export_skeletons)


def load_labels(spec: str | Path | None) -> LabelSet:
    """``ma52`` (or nothing) -> MA-52's 52 actions; else a label TSV (named after its file)."""
    if spec is None or str(spec).lower() in ("ma52", "ma-52"):
        return ma52_labels()
    path = Path(spec)
    return LabelSet.from_tsv(path, name=path.stem)
