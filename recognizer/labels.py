"""Action label sets: MA-52 (from ``assets/ma52_labels.tsv``) or a user's own, from a checkpoint."""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

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

    @classmethod
    def from_tsv(cls, path: str | Path, name: str = "custom") -> "LabelSet":
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        acts = [Action(int(r["action_id"]), r["code"], r["action_name"], int(r["body_id"]), r["body_name"])
                for r in rows]
        return cls(sorted(acts, key=lambda a: a.id), name)


@lru_cache(maxsize=None)
def ma52_labels() -> LabelSet:
    return LabelSet.from_tsv(ASSETS / "ma52_labels.tsv", name="MA-52")
