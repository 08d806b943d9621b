"""Two sides' codings -> paired videos -> the rows of ``agreement.csv`` (per video and pooled).

Per video, every coding of REFERENCE is compared with every coding of OTHER (usually one each; with
several ELAN tiers per side, each pair once), at the action level and the body-part level (the body
part of an action when only the action is coded). REFERENCE is the truth for precision and recall.
Krippendorff's alpha takes every coder of the video at once. The pooled rows (video ``ALL``) add the
events and frames of all videos of the same pair of coders.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from definitions.labels import LabelSet

from .errors import AgreementError
from .measures import (IOU_THRESHOLDS, NOTHING, EventCounts, Span, binary, boundary_errors, coded_seconds,
                       confusion, contingency, event_counts, frame_count, frame_labels, kappa, krippendorff_alpha,
                       match, median_p90, one_against_rest, unit_patterns)
from .sources import Coding, Side

LEVELS = ("action", "body_part")
ALL, ANY = "ALL", "ANY"  # category rows: every category pooled (same category to match); any category
TIME_SLACK_S = 1.0  # an annotation may end this much past the video's end (a coder's last frame, rounding)
ONSET_IOU = IOU_THRESHOLDS[0]  # onset and offset errors are those of the pairs matched at IoU >= 0.3
COLUMNS = ["video", "reference", "other", "level", "category", "name", "n_reference", "n_other",
           *[f"{m}@{t}" for t in IOU_THRESHOLDS for m in ("matched", "precision", "recall", "f1")],
           "onset_median_s", "onset_p90_s", "offset_median_s", "offset_p90_s", "kappa", "alpha", "coders",
           "reference_s", "other_s", "frames"]


# ------------------------------------------------------------------------------------------ videos

@dataclass
class Video:
    """One video with its codings (each coder once) and the pairs to compare."""
    name: str
    codings: list[Coding]
    pairs: list[tuple[Coding, Coding]]
    end_s: float  # frames run from 0 to here
    end_from: str  # the video (known length) or the last annotation
    n_frames: int

    @property
    def report(self) -> Path | None:
        return next((c.report for c in self.codings if c.report is not None), None)


def _pairs(refs: list[Coding], others: list[Coding]) -> list[tuple[Coding, Coding]]:
    """Every reference coding with every other one; a coding is not compared with itself (unless that is
    all there is: a source against itself) and each pair once (coders of one file on both sides)."""
    candidates = [(r, o) for r in refs for o in others]
    kept: list[tuple[Coding, Coding]] = []
    for r, o in candidates:
        if r.identity == o.identity and len(candidates) > 1:
            continue
        if any(k[0].identity == o.identity and k[1].identity == r.identity for k in kept):
            continue
        kept.append((r, o))
    return kept


def pair_videos(reference: Side, other: Side, fps: float) -> tuple[list[Video], list[str], list[str]]:
    """Videos that both sides coded; lines naming the videos only one side coded; lines naming the
    videos that failed (time units)."""
    by_ref = _by_video(reference.codings)
    by_other = _by_video(other.codings)
    notes = []
    if reference.path.is_file() and other.path.is_file() and len(by_ref) == len(by_other) == 1 \
            and set(by_ref) != set(by_other):  # two files named on the command line: compare them
        (ref_name,), (other_name,) = by_ref, by_other
        notes.append(f"{reference.path} and {other.path} name different videos ({ref_name}, {other_name}): "
                     f"compared as one ({ref_name}) because both files were given")
        by_other = {ref_name: by_other[other_name]}
    unmatched = [f"{name}: only in REFERENCE ({_files(cs)})" for name, cs in by_ref.items() if name not in by_other]
    unmatched += [f"{name}: only in OTHER ({_files(cs)})" for name, cs in by_other.items() if name not in by_ref]
    videos, failed = [], []
    for name in sorted(set(by_ref) & set(by_other)):
        try:
            videos.append(_video(name, by_ref[name], by_other[name], fps))
        except AgreementError as e:
            failed.append(str(e))
    return videos, notes + unmatched, failed


def _by_video(codings: list[Coding]) -> dict[str, list[Coding]]:
    out: dict[str, list[Coding]] = {}
    for c in codings:
        out.setdefault(c.video, []).append(c)
    return out


def _files(codings: list[Coding]) -> str:
    return ", ".join(sorted({str(c.path) for c in codings}))


def _video(name: str, refs: list[Coding], others: list[Coding], fps: float) -> Video:
    codings = list({c.identity: c for c in refs + others}.values())
    for group in (refs, others):
        coders = [c.coder for c in group]
        dup = next((c for c in coders if coders.count(c) > 1), None)
        if dup:
            raise AgreementError(f"{name}: {dup} has several files for this video "
                                 f"({_files([c for c in group if c.coder == dup])})")
    known = next((c for c in codings if c.duration_s), None)
    last = max((e.end_s for c in codings for e in c.events), default=0.0)
    if known is not None:
        for c in codings:
            late = next((e for e in c.events if e.end_s > known.duration_s + TIME_SLACK_S), None)
            if late is not None:
                raise AgreementError(f"{late.where}: ends at {late.end_s:.3f} s, past the end of the video "
                                     f"({known.duration_s:.3f} s, from {known.duration_from}): are the times in "
                                     "another unit (milliseconds)?")
        end, end_from = known.duration_s, f"the video ({known.duration_from})"
    else:
        end, end_from = last, "the last annotation's end (the video's length is not known)"
    return Video(name, codings, _pairs(refs, others), end, end_from, frame_count(end, fps))


# ------------------------------------------------------------------------------------------ levels

def codes(coding: Coding, level: str) -> bool:
    """Whether a coding says anything at a level: every coding gives body parts; actions only a coding
    that names them (``Coding.names_actions``)."""
    return level == "body_part" or coding.names_actions


def spans(coding: Coding, level: str) -> list[Span]:
    if level == "action":
        return [Span(e.start_s, e.end_s, e.label.action.id) for e in coding.events if e.label.action is not None]
    return [Span(e.start_s, e.end_s, e.label.body_id) for e in coding.events]


def category_names(labels: LabelSet, level: str) -> dict[int, tuple[str, str]]:
    """Category id -> (short name, long name), in the label set's order."""
    if level == "action":
        return {a.id: (a.code, a.name) for a in labels.actions}
    return {i: (n, n) for i, n in sorted(labels.bodies.items())}


@dataclass
class PairLevel:
    """Two codings of one video at one level, ready for the measures."""
    video: str
    reference: str
    other: str
    ref: list[Span]
    other_spans: list[Span]
    ref_frames: np.ndarray
    other_frames: np.ndarray
    _matches: dict = field(default_factory=dict, repr=False)

    def matches(self, iou: float, same_category: bool = True) -> list[tuple[int, int]]:
        """The one-to-one pairs (computed once: the pooled rows use them again)."""
        key = (iou, same_category)
        if key not in self._matches:
            self._matches[key] = match(self.ref, self.other_spans, iou, same_category)
        return self._matches[key]


@dataclass
class CoderFrames:
    """Every coder of a video at one level (for Krippendorff's alpha)."""
    coders: list[str]
    frames: np.ndarray  # [coders, frames], float (NaN: not coded)


@dataclass
class Confusion:
    reference: str
    other: str
    level: str
    categories: list[int]
    counts: np.ndarray  # [reference category + none, other category + none]


@dataclass
class Comparison:
    videos: list[Video]
    rows: list[dict]
    confusions: list[Confusion]
    notes: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def compare(videos: list[Video], labels: LabelSet, fps: float) -> Comparison:
    """Rows per video, pair of coders and level; then per pair and level, all its videos pooled."""
    rows: list[dict] = []
    notes: list[str] = []
    pooled: dict[tuple[str, str, str], list[PairLevel]] = {}
    coder_frames: dict[tuple[str, str], CoderFrames] = {}  # (video, level)
    for video in videos:
        for level in LEVELS:
            frames = coder_frames[(video.name, level)] = _coder_frames(video, level, fps)
            for item in _pair_levels(video, level, fps, notes):
                rows += level_rows([item], [frames], video.name, level, labels)
                pooled.setdefault((item.reference, item.other, level), []).append(item)
    confusions = []
    for (ref, other, level), items in pooled.items():
        rows += level_rows(items, [coder_frames[(it.video, level)] for it in items], ALL, level, labels)
        confusions.append(pooled_confusion(items, ref, other, level))
    return Comparison(videos, rows, confusions, list(dict.fromkeys(notes)))


def _coder_frames(video: Video, level: str, fps: float) -> CoderFrames:
    coders = [c for c in video.codings if codes(c, level)]
    frames = [frame_labels(spans(c, level), video.n_frames, fps) for c in coders]
    return CoderFrames([c.coder for c in coders], np.array(frames, float).reshape(len(coders), video.n_frames))


def _pair_levels(video: Video, level: str, fps: float, notes: list[str]) -> list[PairLevel]:
    """The video's pairs of coders that both code ``level``; what is left out is said in ``notes``."""
    items = []
    for ref, other in video.pairs:
        missing = [c.coder for c in (ref, other) if not codes(c, level)]
        if missing:
            notes.append(f"{video.name}: action level not compared for {ref.coder} vs {other.coder}: "
                         f"{' and '.join(missing)} name body parts only")
            continue
        if level == "action":
            for c in (ref, other):
                n = sum(e.label.action is None for e in c.events)
                if n:
                    notes.append(f"{video.name}: {c.coder}: {n} of {len(c.events)} annotations name a body part "
                                 "only: left out at the action level")
        ref_spans, other_spans = spans(ref, level), spans(other, level)
        items.append(PairLevel(video.name, ref.coder, other.coder, ref_spans, other_spans,
                               frame_labels(ref_spans, video.n_frames, fps),
                               frame_labels(other_spans, video.n_frames, fps)))
    return items


def _categories(items: list[PairLevel]) -> list[int]:
    return sorted({s.category for it in items for s in it.ref + it.other_spans})


def pooled_confusion(items: list[PairLevel], ref: str, other: str, level: str) -> Confusion:
    cats = _categories(items)
    total = np.zeros((len(cats) + 1, len(cats) + 1), int)
    for it in items:
        total += confusion(it.ref, it.other_spans, it.matches(ONSET_IOU, same_category=False), cats)
    return Confusion(ref, other, level, cats, total)


def _stack(frames: list[CoderFrames]) -> tuple[int, np.ndarray]:
    """Every coder's frames of several videos side by side (NaN where a coder did not code a video)."""
    coders = list(dict.fromkeys(c for f in frames for c in f.coders))
    parts = []
    for f in frames:
        block = np.full((len(coders), f.frames.shape[1]), np.nan)
        for i, c in enumerate(f.coders):
            block[coders.index(c)] = f.frames[i]
        parts.append(block)
    return len(coders), np.concatenate(parts, axis=1) if parts else np.zeros((len(coders), 0))


def level_rows(items: list[PairLevel], frames: list[CoderFrames], video: str, level: str,
               labels: LabelSet) -> list[dict]:
    """The rows of one pair of coders at one level, over one video or several (``items``): a row per
    category, then ``ALL`` (categories pooled; matching within a category) and ``ANY`` (matching across
    categories: did something happen)."""
    names = category_names(labels, level)
    cats = _categories(items)
    n_coders, alpha_frames = _stack(frames)
    ref_frames = np.concatenate([it.ref_frames for it in items])
    other_frames = np.concatenate([it.other_frames for it in items])
    values = np.union1d(np.union1d(ref_frames, other_frames), [NOTHING, *cats])
    table = contingency(ref_frames, other_frames, values)
    patterns, weights = unit_patterns(alpha_frames)
    same = {t: [it.matches(t) for it in items] for t in IOU_THRESHOLDS}
    anything = {t: [it.matches(t, same_category=False) for it in items] for t in IOU_THRESHOLDS}
    ref_time = _sum_times([coded_seconds(it.ref) for it in items])
    other_time = _sum_times([coded_seconds(it.other_spans) for it in items])
    head = {"video": video, "reference": items[0].reference, "other": items[0].other, "level": level,
            "coders": n_coders, "frames": len(ref_frames)}
    rows = []
    for cat in cats:
        counts = {t: sum((event_counts(it.ref, it.other_spans, p, cat) for it, p in zip(items, same[t])),
                         EventCounts(0, 0, 0)) for t in IOU_THRESHOLDS}
        rows.append(_row(head, names[cat][0], names[cat][1], counts, _errors(items, same[ONSET_IOU], cat),
                         kappa(one_against_rest(table, int(np.searchsorted(values, cat)))),
                         krippendorff_alpha(binary(patterns, cat), weights), ref_time.get(cat, 0.0),
                         other_time.get(cat, 0.0)))
    any_time = [sum(coded_seconds([Span(s.start_s, s.end_s, 0) for s in side]).get(0, 0.0) for side in sides)
                for sides in ([it.ref for it in items], [it.other_spans for it in items])]
    for category, pairs, pair_kappa, alpha, times in (
            (ALL, same, kappa(table), krippendorff_alpha(patterns, weights),
             (sum(ref_time.values()), sum(other_time.values()))),
            (ANY, anything, kappa(one_against_rest(table, int(np.searchsorted(values, NOTHING)))),
             krippendorff_alpha(binary(patterns, None), weights), any_time)):
        counts = {t: sum((event_counts(it.ref, it.other_spans, p) for it, p in zip(items, pairs[t])),
                         EventCounts(0, 0, 0)) for t in IOU_THRESHOLDS}
        long = "every category (matched within a category)" if category == ALL else \
            "any category (matched whatever the categories)"
        rows.append(_row(head, category, long, counts, _errors(items, pairs[ONSET_IOU], None), pair_kappa, alpha,
                         *times))
    return rows


def _sum_times(parts: list[dict[int, float]]) -> dict[int, float]:
    out: dict[int, float] = {}
    for p in parts:
        for k, v in p.items():
            out[k] = out.get(k, 0.0) + v
    return out


def _errors(items: list[PairLevel], pairs: list[list[tuple[int, int]]],
            cat: int | None) -> tuple[np.ndarray, np.ndarray]:
    onsets, offsets = [], []
    for it, ps in zip(items, pairs):
        chosen = [p for p in ps if cat is None or it.ref[p[0]].category == cat]
        a, b = boundary_errors(it.ref, it.other_spans, chosen)
        onsets.append(a)
        offsets.append(b)
    return np.concatenate(onsets) if onsets else np.zeros(0), np.concatenate(offsets) if offsets else np.zeros(0)


def _row(head: dict, category: str, name: str, counts: dict[float, EventCounts], errors, kappa: float,
         alpha: float, ref_s: float, other_s: float) -> dict:
    row = dict(head, category=category, name=name, n_reference=counts[IOU_THRESHOLDS[0]].n_reference,
               n_other=counts[IOU_THRESHOLDS[0]].n_other)
    for t, c in counts.items():
        row.update({f"matched@{t}": c.matched, f"precision@{t}": c.precision, f"recall@{t}": c.recall,
                    f"f1@{t}": c.f1})
    row["onset_median_s"], row["onset_p90_s"] = median_p90(errors[0])
    row["offset_median_s"], row["offset_p90_s"] = median_p90(errors[1])
    row.update(kappa=kappa, alpha=alpha, reference_s=ref_s, other_s=other_s)
    return row


def is_missing(value) -> bool:
    return isinstance(value, float) and math.isnan(value)
