"""``agreement.html``: the agreement of two sources in a browser, in the look of the tool's reports.

The pooled table per level and category, a heat map of the categories of matched events per level
(and the events left without a partner), a table per video (linked to the tool's video report when
there is one), and per video the codings' timelines one above the other (REFERENCE's first). One
file, offline: plotly.js comes from the plotly package, packed as in the video reports.
"""
from __future__ import annotations

import functools
from pathlib import Path

from definitions.labels import LabelSet
from pipeline.report.figures import COLOURS, PART_COLOURS
from pipeline.report.rendering import json_for_script, page_link, plotly_js_packed, template_env

from .compare import ALL, ANY, LEVELS, Comparison, Confusion, Video, category_names, is_missing
from .measures import IOU_THRESHOLDS
from .sources import Side

LEVEL_TITLES = {"action": "action", "body_part": "body part"}
NO_PARTNER = "(no match)"


def _colour(labels: LabelSet, body_id: int) -> str:
    name = labels.bodies.get(body_id, "")
    return PART_COLOURS.get(name, COLOURS[body_id % len(COLOURS)])


def timeline_figure(video: Video, labels: LabelSet) -> dict:
    """One lane per coding (REFERENCE's first), a bar per event coloured by its body part, with the
    action's code (when coded) on it and its name in the hover text."""
    import plotly.graph_objects as go

    lanes = [c.coder for c in video.codings]
    traces: dict[int, dict] = {}
    for coding in video.codings:
        for e in coding.events:
            t = traces.setdefault(e.label.body_id, {"y": [], "base": [], "x": [], "text": [], "label": []})
            what = f"{e.label.action.code} {e.label.action.name}" if e.label.action else labels.bodies[e.label.body_id]
            t["label"].append(e.label.action.code if e.label.action else "")
            t["y"].append(coding.coder)
            t["base"].append(round(e.start_s, 3))
            t["x"].append(round(e.end_s - e.start_s, 3))
            t["text"].append(f"{coding.coder}: {what} ({labels.bodies[e.label.body_id]}), "
                             f"{e.start_s:.2f}-{e.end_s:.2f} s")
    fig = go.Figure()
    for body_id in sorted(traces):
        t = traces[body_id]
        fig.add_trace(go.Bar(orientation="h", y=t["y"], base=t["base"], x=t["x"], name=labels.bodies[body_id],
                             text=t["label"], textposition="inside", insidetextanchor="middle",
                             hovertext=t["text"], hovertemplate="%{hovertext}<extra></extra>",
                             marker=dict(color=_colour(labels, body_id), opacity=0.85,
                                         line=dict(color="#222", width=0.5))))
    fig.update_layout(
        barmode="overlay", height=110 + 40 * len(lanes), margin=dict(l=10, r=10, t=10, b=40),
        xaxis=dict(title="time (s)", range=[0, max(video.end_s, 1e-3)], showgrid=True, zeroline=False),
        yaxis=dict(type="category", categoryorder="array", categoryarray=list(reversed(lanes)),
                   range=[-0.5, len(lanes) - 0.5], automargin=True),
        legend=dict(orientation="h", y=-0.35), hovermode="closest", template="plotly_white")
    return fig.to_plotly_json()


def confusion_figure(conf: Confusion, labels: LabelSet) -> dict:
    """Event counts: reference category (rows) by other category (columns), with the events that found
    no partner at IoU >= 0.3 (any category) in the last row and column."""
    import plotly.graph_objects as go

    names = category_names(labels, conf.level)
    ticks = [names[c][0] for c in conf.categories] + [NO_PARTNER]
    z: list[list[int | None]] = conf.counts.tolist()
    z[-1][-1] = None  # nothing meets nothing: no cell
    text = [["" if v is None else str(v) for v in row] for row in z]
    fig = go.Figure(go.Heatmap(
        z=z, x=ticks, y=ticks, text=text, texttemplate="%{text}", colorscale="Blues", showscale=True,
        hovertemplate="reference %{y}, other %{x}: %{z} events<extra></extra>", xgap=1, ygap=1,
        colorbar=dict(title="events")))
    side = 120 + 26 * len(ticks)
    fig.update_layout(
        height=min(max(side, 260), 1400), margin=dict(l=10, r=10, t=10, b=10), template="plotly_white",
        xaxis=dict(title=f"{conf.other} (other)", side="top", type="category", automargin=True),
        yaxis=dict(title=f"{conf.reference} (reference)", autorange="reversed", type="category", automargin=True))
    return fig.to_plotly_json()


@functools.lru_cache(maxsize=1)
def _env():
    return template_env(num=_num, tojson_script=functools.partial(json_for_script, allow_nan=False))


def _num(value, digits: int = 2) -> str:
    if value is None or is_missing(value):
        return ""
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def render_page(result: Comparison, sides: list[Side], unmatched: list[str], notes: list[str], fps: float,
                labels: LabelSet, out: Path) -> str:
    figures: dict[str, dict] = {}
    confusions = []
    for n, c in enumerate(result.confusions):
        figures[f"confusion-{n}"] = confusion_figure(c, labels)
        confusions.append({"id": f"confusion-{n}",
                           "title": f"{LEVEL_TITLES[c.level]}: {c.reference} (reference) vs {c.other}"})
    videos = []
    for n, v in enumerate(result.videos):
        figures[f"timeline-{n}"] = timeline = timeline_figure(v, labels)
        videos.append({"name": v.name, "id": f"timeline-{n}", "height": timeline["layout"]["height"],
                       "report": page_link(v.report, out) if v.report else None,
                       "end": v.end_s, "end_from": v.end_from, "coders": [c.coder for c in v.codings],
                       "events": {c.coder: len(c.events) for c in v.codings}})
    pooled = [r for r in result.rows if r["video"] == ALL]
    per_video = [dict(r, link=next((v["report"] for v in videos if v["name"] == r["video"]), None))
                 for r in result.rows if r["video"] != ALL and r["category"] in (ALL, ANY)]
    skipped = [f"{p}: {why}" for s in sides for p, why in s.skipped]
    return _env().get_template("agreement.html.j2").render(
        reference=sides[0].name, other=sides[1].name, reference_path=str(sides[0].path),
        other_path=str(sides[1].path), fps=fps, labels=labels.name, thresholds=IOU_THRESHOLDS, levels=LEVELS,
        level_titles=LEVEL_TITLES, pooled=pooled, per_video=per_video, videos=videos, confusions=confusions,
        failed=result.failed, unmatched=unmatched, skipped=skipped, notes=list(dict.fromkeys(notes)),
        figures=figures, plotly_js=plotly_js_packed(), special=(ALL, ANY))
