"""What the weight-free recognizer returns: action instances with the evidence that named them."""
from __future__ import annotations

from dataclasses import dataclass, field

from definitions.labels import ma52_labels


@dataclass
class ActionInstance:
    """One instance of an MA-52 action found in a keypoint track: ``code`` (e.g. ``B1``), when it
    starts and ends (seconds), ``score`` (0-1, how clearly the measured quantities pass the action's
    rule) and ``evidence`` (the measured quantities: angles, amplitudes, rates, hand target, distance)."""

    code: str
    start_s: float
    end_s: float
    score: float
    evidence: dict = field(default_factory=dict)

    def record(self) -> dict:
        """The JSON form (``movement.actions`` entries): id, code, name, body part, times, score,
        evidence."""
        label = ma52_labels().by_code(self.code)
        return {"id": label.id, "code": self.code, "name": label.name, "body_id": label.body_id,
                "body_name": label.body_name, "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
                "score": round(float(self.score), 3), "evidence": self.evidence}


def strength_score(ratio: float, reliability: float = 1.0) -> float:
    """A score in 0-1 from how far a measured quantity passes its threshold (``ratio`` = measured /
    threshold, >= 1 for an instance): 0.5 at the threshold, 0.75 at twice it, 0.875 at three times;
    times the reliability of the measurement (0-1)."""
    return float((1.0 - 0.5 ** max(ratio, 0.0)) * min(max(reliability, 0.0), 1.0))


def overlap(a_start: float, a_end: float, b_start: float, b_end: float) -> float:
    return max(0.0, min(a_end, b_end) - max(a_start, b_start))


def merge_sides(found: list[ActionInstance], side: str, keep_best_score: bool = False) -> list[ActionInstance]:
    """Instances of one code that overlap (the left and the right hand, or leg, doing it at once) are one:
    the union of their times, ``evidence[side]`` ``both`` where the two differ, the best score when
    ``keep_best_score``."""
    out: list[ActionInstance] = []
    for inst in sorted(found, key=lambda i: i.start_s):
        prev = next((o for o in out if o.code == inst.code and overlap(o.start_s, o.end_s, inst.start_s, inst.end_s) > 0), None)
        if prev is None:
            out.append(inst)
            continue
        prev.start_s, prev.end_s = min(prev.start_s, inst.start_s), max(prev.end_s, inst.end_s)
        if prev.evidence.get(side) != inst.evidence.get(side):
            prev.evidence[side] = "both"
        if keep_best_score:
            prev.score = max(prev.score, inst.score)
    return out
