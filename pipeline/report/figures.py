"""The video report's Plotly figures (as dicts for the page's script): the timeline (a lane per person
and kind; a click seeks the video) and the motion energy per body region over time."""
from __future__ import annotations

import html

from definitions.layout import REGIONS

from ..description import BODY_PARTS
from ..record import CONTACT_VERBS, Record, action_source, analysed_persons, contacts, weight_free_actions
from .rendering import mmss
from .summary import stretches

COLOURS = ["#393b79", "#8c6d31", "#843c39", "#7b4173", "#637939", "#3182bd", "#e6550d", "#756bb1", "#636363",
           "#bd9e39"]  # actions: darker than the body-part colours below, so the two lanes never look alike
PART_COLOURS = dict(zip(BODY_PARTS, ["#8c564b", "#1f77b4", "#2ca02c", "#9467bd", "#e377c2", "#ff7f0e",
                                     "#17becf"]))
TARGET_COLOURS = {"face/head": "#d62728", "torso": "#ff7f0e", "legs": "#2ca02c"}
STATUS_COLOURS = {"still": "#c7c7c7", "absent": "#f4b6b6"}
REGION_COLOURS = dict(zip(REGIONS, ["#1f77b4", "#7f7f7f", "#ff7f0e", "#2ca02c"]))


def plain(text: object) -> str:
    """Text from a record (label names, codes) for a Plotly figure, where ``<b>``, ``<span style>`` and
    ``<a href>`` are markup: shown as written, never as markup (Plotly turns the entities back into
    characters)."""
    return html.escape(str(text), quote=False)


def _evidence_html(ev: dict) -> str:
    return "<br>".join(f"{html.escape(str(k))}: {html.escape(str(v))}" for k, v in ev.items())


def _lanes(doc: Record) -> list[str]:
    lanes = []
    for pid in analysed_persons(doc):
        if doc.get("model"):
            lanes.append(f"#{pid} action")
        lanes += [f"#{pid} weight-free", f"#{pid} body part", f"#{pid} hands", f"#{pid} still/absent"]
    return lanes


class _Bars:
    """Timeline bars by trace (legend group, name); ``customdata`` [start, end, segment number or -1]."""

    def __init__(self):
        self.traces: dict[tuple[str, str], dict] = {}

    def add(self, lane: str, name: str, colour: str, start: float, end: float, text: str, seg: int = -1,
            group: str = "") -> None:
        t = self.traces.setdefault((group, name), {"y": [], "base": [], "x": [], "customdata": [], "text": [],
                                                   "colour": colour})
        t["y"].append(lane)
        t["base"].append(start)
        t["x"].append(max(end - start, 0.04))  # a very short event stays visible
        t["customdata"].append([round(start, 3), round(end, 3), seg])
        t["text"].append(f"{text}<br>{mmss(start)}-{mmss(end)} ({end - start:.2f} s)")


def _segment_bars(doc: Record, bars: _Bars) -> None:
    """The action lane (MMN, with a checkpoint), the weight-free actions' lane (each instance at its own
    times, coloured by its MA-52 body part, the evidence on hover) and the body-part lane of every
    segment."""
    action_colour: dict[str, str] = {}
    drawn = set()
    for n, s in enumerate(doc["segments"]):
        pid, mv = s["person"], s["movement"]
        for a in weight_free_actions(s):
            if (pid, a["code"], a["start_s"], a["end_s"]) in drawn:
                continue
            drawn.add((pid, a["code"], a["start_s"], a["end_s"]))
            bars.add(f"#{pid} weight-free", f"{a['code']} {a['name']}", PART_COLOURS.get(a["body_name"], "#7f7f7f"),
                     a["start_s"], a["end_s"], f"<b>{a['code']} {a['name']}</b> score {a['score']:.2f}<br>"
                     + _evidence_html(a["evidence"]), n, "weight-free")
        if s["action"] and action_source(s["action"]) == "mmn":
            code, name = s["action"]["code"], s["action"]["name"]
            col = action_colour.setdefault(code, COLOURS[len(action_colour) % len(COLOURS)])
            top = "<br>".join(plain(f"{t['code']} {t['name']}: {t['probability']:.2f}") for t in s["top5"][:3])
            label = plain(f"{code} {name}")
            bars.add(f"#{pid} action", label, col, s["start_s"], s["end_s"],
                     f"<b>{label}</b> p={s['action']['probability']:.2f}<br>{top}", n, "action")
        part = mv["body_part"]
        text = (f"<b>{plain(part)}</b> ({mv['body_part_scores'][part]:.2f}), " if part else "movement, ") + \
            f"energy {mv['motion_energy']:.2f}"
        bars.add(f"#{pid} body part", plain(part or "movement"), PART_COLOURS.get(part, "#bbbbbb"), s["start_s"],
                 s["end_s"], text, n, "body part")


def _person_bars(doc: Record, bars: _Bars) -> None:
    """Per person: hand contacts, and the still/absent stretches."""
    for pid in analysed_persons(doc):
        for c in contacts(doc, pid):
            bars.add(f"#{pid} hands", plain(f"{c['kind']} {c['target']}"), TARGET_COLOURS.get(c["target"], "#7f7f7f"),
                     c["start_s"], c["end_s"], plain(f"{c['hand']} hand {CONTACT_VERBS[c['kind']]} {c['target']}"),
                     -1, "hands")
        for a, b, status in stretches(doc, pid):
            if status != "active":
                bars.add(f"#{pid} still/absent", status, STATUS_COLOURS[status], a, b, status, -1, "status")


def timeline_figure(doc: Record) -> dict:
    """Plotly figure (as a dict): horizontal bars, one lane per person and kind; a click seeks the video
    to the bar's start (``customdata``)."""
    import plotly.graph_objects as go

    bars = _Bars()
    _segment_bars(doc, bars)
    _person_bars(doc, bars)
    fig = go.Figure()
    for (group, name), t in bars.traces.items():
        resting = name.startswith("resting")
        fig.add_trace(go.Bar(
            orientation="h", y=t["y"], base=t["base"], x=t["x"], customdata=t["customdata"], name=name,
            legendgroup=group, legendgrouptitle_text=group, hovertext=t["text"],
            hovertemplate="%{hovertext}<extra></extra>",
            marker=dict(color=t["colour"], opacity=0.45 if resting else 0.9,
                        pattern_shape="/" if resting else "", line_width=0)))
    lanes = _lanes(doc)
    cuts = [dict(type="line", xref="x", yref="paper", x0=s["start_s"], x1=s["start_s"], y0=0, y1=1,
                 line=dict(color="#444", dash="dash", width=1)) for s in doc["shots"][1:]]
    fig.update_layout(
        barmode="overlay", height=90 + 34 * max(len(lanes), 1), margin=dict(l=10, r=10, t=30, b=40),
        xaxis=dict(title="time (s)", range=[0, max(doc["video"]["duration_s"], 1e-3)], showgrid=True,
                   zeroline=False),
        yaxis=dict(categoryorder="array", categoryarray=list(reversed(lanes)), type="category",
                   range=[-0.5, len(lanes) - 0.5], automargin=True),
        legend=dict(orientation="h", y=-0.25, groupclick="toggleitem"), shapes=[_marker_shape()] + cuts,
        hovermode="closest", title=dict(text="Timeline (click a bar to play from there)", font_size=14),
        template="plotly_white")
    return fig.to_plotly_json()


def _marker_shape() -> dict:
    """The playback position (moved by the page's script: always the first shape)."""
    return dict(type="line", xref="x", yref="paper", x0=0, x1=0, y0=0, y1=1, line=dict(color="#d62728", width=2))


def energy_figure(doc: Record) -> dict:
    """Motion energy per body region over time (window centres), per analysed person; the still
    threshold as a dashed line."""
    import plotly.graph_objects as go

    fig = go.Figure()
    dashes = ["solid", "dot", "dash", "longdash"]
    persons = analysed_persons(doc)
    for n, pid in enumerate(persons):
        wins = sorted((w for w in doc["windows"] if w["person"] == pid), key=lambda w: w["start_s"])
        x = [round((w["start_s"] + w["end_s"]) / 2, 3) for w in wins]
        has_regions = any("region_energy" in w for w in wins)
        series = ({r: [w["region_energy"].get(r) if w["status"] != "absent" and "region_energy" in w else None
                       for w in wins] for r in REGIONS} if has_regions
                  else {"largest region": [w["motion_energy"] if w["status"] != "absent" else None for w in wins]})
        for r, y in series.items():
            fig.add_trace(go.Scatter(
                x=x, y=y, mode="lines+markers" if len(x) < 60 else "lines", name=(f"#{pid} " if len(persons) > 1
                                                                              else "") + r,
                line=dict(color=REGION_COLOURS.get(r, "#333"), dash=dashes[n % len(dashes)], width=1.6),
                marker_size=4, customdata=[[a, a, -1] for a in x], connectgaps=False,
                hovertemplate=f"{r}: %{{y:.3f}} torso lengths/s at %{{x:.1f}} s<extra></extra>"))
    shapes = [_marker_shape()]
    if doc["analysis"]["mode"] == "long":
        thr = doc["analysis"]["still_threshold"]
        shapes.append(dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=thr, y1=thr,
                           line=dict(color="#999", dash="dash", width=1)))
    fig.update_layout(
        height=260, margin=dict(l=10, r=10, t=30, b=40), shapes=shapes, hovermode="closest",
        xaxis=dict(title="time (s)", range=[0, max(doc["video"]["duration_s"], 1e-3)]),
        yaxis=dict(title="torso lengths / s", rangemode="tozero", automargin=True),
        title=dict(text="Motion energy per body region (per window; dashed: still threshold)", font_size=14),
        legend=dict(orientation="h", y=-0.3), template="plotly_white")
    return fig.to_plotly_json()
