"""Agreement measures between codings of one video, as pure functions on timed categories.

A coding at one level is a list of ``Span`` (start, end in seconds, category: an int id of the label
set; ``NOTHING`` is no category). Everything here is arithmetic on those lists:

* events: one-to-one matching at a temporal IoU threshold, the optimal assignment (the most pairs,
  then the largest total IoU; scipy's ``linear_sum_assignment``), of the same category or of any
  (``same_category=False``: "did something happen"); precision = matched / OTHER's events, recall =
  matched / REFERENCE's events; the absolute onset and offset errors of matched pairs;
* frames: each frame of ``1 / fps`` seconds, frame k covering [k/fps, (k+1)/fps), takes the category
  of the event that covers its centre (``NOTHING`` when none does; where events of one coding overlap,
  the one that started last, and of two starting together the shorter); Cohen's kappa of two codings
  and Krippendorff's alpha of any number (nominal), computed here from a contingency table and from
  unit patterns (quick on hours of frames; the tests hold them to scikit-learn and ``krippendorff``);
* the confusion of categories between matched events, and each coding's coded time per category.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

NOTHING = -1  # a frame no event covers
IOU_THRESHOLDS = (0.3, 0.5)
IOU_TOLERANCE = 1e-9  # IoUs of times rounded to milliseconds: 0.3 exactly is 0.3, not 0.29999999999999993


@dataclass(frozen=True)
class Span:
    start_s: float
    end_s: float
    category: int

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


# ------------------------------------------------------------------------------------------ events

def iou_matrix(reference: Sequence[Span], other: Sequence[Span]) -> np.ndarray:
    """Temporal IoU (intersection over union of the two time intervals) of every pair, [n_ref, n_other]."""
    if not reference or not other:
        return np.zeros((len(reference), len(other)))
    a = np.array([(s.start_s, s.end_s) for s in reference], float)
    b = np.array([(s.start_s, s.end_s) for s in other], float)
    inter = np.clip(np.minimum(a[:, None, 1], b[None, :, 1]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    union = (a[:, 1] - a[:, 0])[:, None] + (b[:, 1] - b[:, 0])[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match(reference: Sequence[Span], other: Sequence[Span], min_iou: float,
          same_category: bool = True) -> list[tuple[int, int]]:
    """One-to-one pairs (index in ``reference``, index in ``other``) with IoU >= ``min_iou`` (and the same
    category unless ``same_category`` is False): as many pairs as possible, and of those assignments the
    one with the largest total IoU. Greedy matching (best IoU first) can pair an event with the neighbour
    that another event needed and so find fewer pairs; the assignment cannot."""
    if not reference or not other:
        return []
    iou = iou_matrix(reference, other)
    eligible = iou >= min_iou - IOU_TOLERANCE
    if same_category:
        eligible &= np.array([s.category for s in reference])[:, None] == np.array([s.category for s in other])[None, :]
    # every pair is worth more than any sum of IoUs (at most one per pair): the count of pairs comes first
    pair_worth = min(len(reference), len(other)) + 1
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(np.where(eligible, pair_worth + iou, 0.0), maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if eligible[r, c]]


@dataclass(frozen=True)
class EventCounts:
    n_reference: int
    n_other: int
    matched: int

    def __add__(self, o: "EventCounts") -> "EventCounts":
        return EventCounts(self.n_reference + o.n_reference, self.n_other + o.n_other, self.matched + o.matched)

    @property
    def precision(self) -> float:
        return self.matched / self.n_other if self.n_other else math.nan

    @property
    def recall(self) -> float:
        return self.matched / self.n_reference if self.n_reference else math.nan

    @property
    def f1(self) -> float:
        """2 matched / (n_reference + n_other): the harmonic mean of precision and recall (0 when one of
        the codings has events and none match; undefined when neither has any)."""
        total = self.n_reference + self.n_other
        return 2 * self.matched / total if total else math.nan


def event_counts(reference: Sequence[Span], other: Sequence[Span], pairs: list[tuple[int, int]],
                 category: int | None = None) -> EventCounts:
    """Counts of one category (its events; pairs whose reference event is of it), or of all (None)."""
    if category is None:
        return EventCounts(len(reference), len(other), len(pairs))
    return EventCounts(sum(s.category == category for s in reference), sum(s.category == category for s in other),
                       sum(reference[r].category == category for r, _ in pairs))


def boundary_errors(reference: Sequence[Span], other: Sequence[Span],
                    pairs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Absolute onset and offset differences (seconds) of the matched pairs."""
    onsets = np.array([abs(reference[r].start_s - other[o].start_s) for r, o in pairs], float)
    offsets = np.array([abs(reference[r].end_s - other[o].end_s) for r, o in pairs], float)
    return onsets, offsets


def median_p90(values: np.ndarray) -> tuple[float, float]:
    """Median and 90th percentile (numpy's linear interpolation); NaN for no values."""
    if not len(values):
        return math.nan, math.nan
    return float(np.median(values)), float(np.percentile(values, 90))


def confusion(reference: Sequence[Span], other: Sequence[Span], pairs: list[tuple[int, int]],
              categories: Sequence[int]) -> np.ndarray:
    """Event counts [reference category, other category] of the pairs, with a last row and column for
    no partner: the last column counts reference events left unmatched, the last row other events."""
    index = {c: i for i, c in enumerate(categories)}
    n = len(categories)
    out = np.zeros((n + 1, n + 1), int)
    for r, o in pairs:
        out[index[reference[r].category], index[other[o].category]] += 1
    matched_r, matched_o = {r for r, _ in pairs}, {o for _, o in pairs}
    for i, s in enumerate(reference):
        if i not in matched_r:
            out[index[s.category], n] += 1
    for i, s in enumerate(other):
        if i not in matched_o:
            out[n, index[s.category]] += 1
    return out


def coded_seconds(spans: Sequence[Span]) -> dict[int, float]:
    """Time covered by each category (the union of its events: overlapping events count once)."""
    out: dict[int, float] = {}
    for cat in {s.category for s in spans}:
        total, end = 0.0, -math.inf
        for s in sorted((s for s in spans if s.category == cat), key=lambda s: s.start_s):
            lo = max(s.start_s, end)
            if s.end_s > lo:
                total += s.end_s - lo
            end = max(end, s.end_s)
        out[cat] = total
    return out


def overlapping(spans: Sequence[Span]) -> list[int]:
    """Indices (in ``spans``) of the events that start before an earlier-starting event has ended."""
    order = sorted(range(len(spans)), key=lambda i: (spans[i].start_s, spans[i].end_s))
    out, end = [], -math.inf
    for i in order:
        if spans[i].start_s < end - 1e-9:
            out.append(i)
        end = max(end, spans[i].end_s)
    return sorted(out)


# ------------------------------------------------------------------------------------------ frames

def frame_count(end_s: float, fps: float) -> int:
    """Frames of ``1 / fps`` s from 0 until ``end_s`` (a last partial frame counts)."""
    return max(0, int(math.ceil(end_s * fps - 1e-6)))


def frame_labels(spans: Sequence[Span], n_frames: int, fps: float) -> np.ndarray:
    """Category per frame (see the module's text; ``NOTHING`` where no event covers the frame's centre)."""
    labels = np.full(n_frames, NOTHING, np.int64)
    centres = (np.arange(n_frames) + 0.5) / fps
    for s in sorted(spans, key=lambda s: (s.start_s, -s.duration_s)):  # painted in order: the later one wins
        labels[np.searchsorted(centres, s.start_s):np.searchsorted(centres, s.end_s)] = s.category
    return labels


def contingency(a: np.ndarray, b: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Frame counts [label of a, label of b] over ``values`` (sorted; every label of a and b among them)."""
    k = len(values)
    return np.bincount(np.searchsorted(values, a) * k + np.searchsorted(values, b), minlength=k * k).reshape(k, k)


def kappa(table: np.ndarray) -> float:
    """Cohen's kappa of a contingency table: (p_o - p_e) / (1 - p_e), p_o the share of agreeing frames, p_e
    the agreement expected from the two coders' label shares (what scikit-learn's ``cohen_kappa_score``
    computes, held to it by the tests, here from one table per pair: each category's kappa is a 2 x 2
    view of it, ``one_against_rest``). NaN when undefined (no frames, or one label only in both)."""
    n = table.sum()
    if n == 0:
        return math.nan
    p = table / n
    expected = float(p.sum(axis=1) @ p.sum(axis=0))
    return math.nan if expected >= 1 - 1e-12 else (float(np.trace(p)) - expected) / (1 - expected)


def one_against_rest(table: np.ndarray, i: int) -> np.ndarray:
    """The 2 x 2 table of label ``i`` against every other label."""
    both = table[i, i]
    only_a, only_b = table[i].sum() - both, table[:, i].sum() - both
    return np.array([[both, only_a], [only_b, table.sum() - both - only_a - only_b]])


def unit_patterns(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct columns of [coders, units] labels (NaN: not coded) and how often each occurs: alpha
    sums over units, so units alike are counted once with their number (an hour of frames at 25 fps:
    90,000 units, a few hundred patterns)."""
    if labels.shape[1] == 0:
        return labels, np.zeros(0, np.int64)
    filled = np.where(np.isfinite(labels), labels, -2.0)  # labels are >= NOTHING (-1)
    patterns, counts = np.unique(filled, axis=1, return_counts=True)
    return np.where(patterns == -2.0, np.nan, patterns), counts


def krippendorff_alpha(labels: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Krippendorff's alpha, nominal, of [coders, units] labels (NaN: the coder did not code the unit),
    each unit counted ``weights`` times (``unit_patterns``); NaN when it is undefined (fewer than two
    coders, or one label only).

    From the coincidences of pairable units (those with two coders or more, m_u of them): n_c = how
    often label c was given there, n = sum of n_c, and the agreeing part of the coincidence matrix,
    sum_c o_cc = sum_u (ordered pairs of coders agreeing in u) / (m_u - 1); alpha = 1 - (n - 1)
    (n - sum_c o_cc) / (n^2 - sum_c n_c^2) (Krippendorff 2011, nominal metric). The ``krippendorff``
    package computes the same (the tests hold this to it and to the published example) but keeps a
    [units, labels, labels] array: 2 GB for an hour of frames at 25 fps and MA-52's 52 actions."""
    labels = np.asarray(labels, float)
    weights = np.ones(labels.shape[1]) if weights is None else np.asarray(weights, float)
    coded = np.isfinite(labels)
    per_unit = coded.sum(axis=0)
    pairable = per_unit >= 2
    if labels.shape[0] < 2 or len(np.unique(labels[:, pairable][coded[:, pairable]])) < 2:
        return math.nan
    agreeing = np.zeros(labels.shape[1])
    for i in range(labels.shape[0]):
        for j in range(labels.shape[0]):
            if i != j:
                agreeing += coded[i] & coded[j] & (labels[i] == labels[j])
    w = weights[pairable]
    n = float((per_unit[pairable] * w).sum())
    diagonal = float((agreeing[pairable] / (per_unit[pairable] - 1) * w).sum())
    given = labels[:, pairable]
    values, where = np.unique(given[np.isfinite(given)], return_inverse=True)
    n_c = np.bincount(where, weights=np.broadcast_to(w, given.shape)[np.isfinite(given)], minlength=len(values))
    return 1.0 - (n - 1) * (n - diagonal) / (n * n - float((n_c ** 2).sum()))


def binary(labels: np.ndarray, category: int | None) -> np.ndarray:
    """Frames of ``category`` (1) against everything else (0); ``None``: any event against nothing. Float
    labels keep their NaN (a coder who did not code the unit)."""
    out = (labels != NOTHING if category is None else labels == category).astype(labels.dtype)
    if labels.dtype.kind == "f":
        out[np.isnan(labels)] = np.nan
    return out
