"""The study's statistics as one self-contained HTML file: tables and inline SVG charts,
no script and nothing loaded from elsewhere. Every text is escaped."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import TYPE_CHECKING

from workbench.evaluation.statistics import QuestionSummary, Statistics, compute, reading

if TYPE_CHECKING:
    from workbench.evaluation.study import Study

CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
th{background:#f3f3f3}.num{text-align:right;font-variant-numeric:tabular-nums}
svg{display:block;margin:.25rem 0 1rem}.bar{fill:#4a78b5}.ci{stroke:#222;stroke-width:2}.muted{color:#777}
figure{margin:0 0 1rem}figcaption{font-weight:600}
"""


def fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def fmt_ci(ci: tuple[float, float] | None) -> str:
    return "–" if ci is None else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def bar_chart(distribution: dict[str, int], width: int = 480) -> str:
    """Horizontal bars, one per answer, with their counts."""
    if not distribution:
        return ""
    row, label_w = 22, 160
    most = max(distribution.values()) or 1
    height = row * len(distribution) + 4
    parts = [f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">']
    for i, (label, count) in enumerate(distribution.items()):
        y = i * row + 2
        w = (width - label_w - 50) * count / most
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="13">{escape(label[:28])}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 6}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="13">{count}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def mean_chart(rows: list[QuestionSummary], width: int = 480) -> str:
    """Each bot's mean as a dot with its 95% interval as a line, on the question's scale."""
    shown = [r for r in rows if r.mean is not None]
    if not shown:
        return ""
    q = shown[0].question
    if q.kind == "likert":
        low, high = 1.0, float(len(q.choices))
    elif q.kind == "choice":
        low, high = 0.0, float(len(q.choices) - 1)
    else:
        points = [r.mean for r in shown if r.mean is not None] + [x for r in shown if r.ci for x in r.ci]
        low, high = min(points), max(points)
    span = (high - low) or 1.0
    row, label_w = 24, 160
    height = row * len(shown) + 24

    def x(v: float) -> float:
        return label_w + (width - label_w - 20) * (v - low) / span

    parts = [f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">']
    for i, r in enumerate(shown):
        y = i * row + 14
        parts.append(f'<text x="{label_w - 6}" y="{y + 4}" text-anchor="end" font-size="13">{escape(r.bot)}</text>')
        if r.ci:
            parts.append(f'<line class="ci" x1="{x(r.ci[0]):.1f}" x2="{x(r.ci[1]):.1f}" y1="{y}" y2="{y}"/>')
        parts.append(f'<circle cx="{x(r.mean or 0):.1f}" cy="{y}" r="5" class="bar"/>')
    base = height - 6
    parts.append(f'<text x="{label_w}" y="{base}" font-size="11">{low:g}</text>')
    parts.append(f'<text x="{width - 20}" y="{base}" font-size="11" text-anchor="end">{high:g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(study: Study, stats: Statistics | None = None) -> str:
    stats = stats or compute(study)
    progress = study.progress()
    out: list[str] = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{escape(study.name)}: evaluation report</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(study.name)}: evaluation report</h1>",
        f"<p class=muted>{stats.threads} thread(s), {stats.done} rated; made {escape(dt.datetime.now().strftime('%Y-%m-%d %H:%M'))}."
        " Means with bootstrap 95% intervals (likert: 1 = first answer; choice: 0 = first answer).</p>",
        "<h2>Progress per topic</h2><table><tr><th>topic</th><th>chatting</th><th>rating</th><th>done</th></tr>",
    ]
    for topic, counts in progress.per_topic.items():
        out.append(
            f"<tr><td>{escape(topic)}</td>"
            + "".join(f"<td class=num>{counts.get(s, 0)}</td>" for s in ("chatting", "rating", "done"))
            + "</tr>"
        )
    out.append(
        "</table><h2>Progress per worker</h2><table><tr><th>worker</th><th>chatting</th><th>rating</th><th>done</th></tr>"
    )
    for person, counts in progress.per_person.items():
        out.append(
            f"<tr><td>{escape(person)}</td>"
            + "".join(f"<td class=num>{counts.get(s, 0)}</td>" for s in ("chatting", "rating", "done"))
            + "</tr>"
        )
    out.append("</table><h2>Ratings</h2>")
    keyed: dict[tuple[str, bool], list[QuestionSummary]] = {}
    for row in stats.questions:
        keyed.setdefault((row.question.key, row.per_turn), []).append(row)
    for (_key, per_turn), rows in keyed.items():
        q = rows[0].question
        kind = f"{q.kind}{', about each bot message' if per_turn else ''}"
        out.append(f"<figure><figcaption>{escape(q.question)} <span class=muted>({escape(kind)})</span></figcaption>")
        out.append("<table><tr><th>bot</th><th>n</th><th>mean</th><th>95% interval</th></tr>")
        for r in rows:
            out.append(
                f"<tr><td>{escape(r.bot)}</td><td class=num>{r.n}</td><td class=num>{fmt(r.mean)}</td>"
                f"<td class=num>{fmt_ci(r.ci)}</td></tr>"
            )
        out.append("</table>")
        out.append(mean_chart(rows))
        for r in rows:
            if r.distribution and r.n:
                out.append(f"<div class=muted>{escape(r.bot)}</div>{bar_chart(r.distribution)}")
            if r.texts:
                out.append("<ul>" + "".join(f"<li>{escape(t)}</li>" for t in r.texts[:200]) + "</ul>")
        out.append("</figure>")
    out.append(
        "<h2>Agreement (Krippendorff's alpha)</h2><table><tr><th>question</th><th>level</th><th>alpha</th>"
        "<th>units</th><th>raters</th><th>reading</th></tr>"
    )
    for a in stats.alphas:
        out.append(
            f"<tr><td>{escape(a.question.question)}</td><td>{escape(a.level or '')}</td><td class=num>{fmt(a.alpha, 3)}</td>"
            f"<td class=num>{a.units}</td><td class=num>{a.raters}</td><td>{escape(a.note or reading(a.alpha))}</td></tr>"
        )
    out.append(
        "</table><p class=muted>alpha ≥ 0.800: reliable; 0.667–0.800: tentative conclusions only; below: unreliable."
        " A unit is one (topic, bot) pair.</p><h2>Workers</h2><table><tr><th>worker</th><th>threads</th>"
        "<th>ratings</th><th>pairs compared</th><th>exact agreement</th><th>alpha without them</th></tr>"
    )
    for w in stats.workers:
        out.append(
            f"<tr><td>{escape(w.person)}</td><td class=num>{w.threads}</td><td class=num>{w.ratings}</td>"
            f"<td class=num>{w.pairs}</td><td class=num>{fmt(w.agreement)}</td><td class=num>{fmt(w.alpha_without, 3)}</td></tr>"
        )
    out.append("</table></body></html>")
    return "\n".join(out)
