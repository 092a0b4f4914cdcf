"""Results as JSON and as a PNG bar chart under ``benchmarks/results/`` (git-ignored)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
COLORS = {"floor": "#9e9e9e", "peer": "#4c72b0", "ours": "#dd8452", "info": "#e8c9a8"}


def write(results: dict[str, Any], stamp: str, directory: Path = RESULTS) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in (f"bench-{stamp}.json", "latest.json"):
        path = directory / name
        path.write_text(json.dumps(results, indent=2, default=str) + "\n")
        written.append(path)
    try:
        chart = _chart(results)
    except ImportError as exc:
        print(f"(no chart: {exc}; `make .venv/.installed` installs matplotlib)")
        return written
    for name in (f"bench-{stamp}.png", "latest.png"):
        path = directory / name
        chart.savefig(path, dpi=110)
        written.append(path)
    return written


def _chart(results: dict[str, Any]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stage = results["stages"][0]["rows"]
    scales = results.get("scales", [])
    http = results.get("http") or {}
    panels = 1 + bool(scales) + bool(http)
    fig, axes = plt.subplots(panels, 1, figsize=(10, 4.2 + 2.6 * len(stage) / 6 + 3 * (panels - 1)),
                             gridspec_kw={"height_ratios": [max(3, len(stage) / 2.5)]
                                          + [2.5] * (panels - 1)})
    axes = list(axes) if panels > 1 else [axes]
    meta = results["meta"]
    fig.suptitle(f"make bench, {meta['date']}: {meta['database']}, {meta['machine']}",
                 fontsize=10)

    ax = axes.pop(0)
    names = [r["name"] for r in stage][::-1]
    ratios = [r["x_floor"] for r in stage][::-1]
    colors = [COLORS.get(r["kind"], "#777777") for r in stage][::-1]
    bars = ax.barh(names, ratios, color=colors)
    for bar, r in zip(bars, stage[::-1], strict=True):
        ax.text(bar.get_width() + 0.03, bar.get_y() + bar.get_height() / 2,
                f"{r['x_floor']:.2f}x  {r['median_us']:.0f} µs  {r['queries']:g} q",
                va="center", fontsize=7)
    by_limit: dict[float, list[str]] = {}
    for limit, label in results.get("ratio_targets", []):
        by_limit.setdefault(limit, []).append(label.rsplit(" ", 1)[0])
    for i, (limit, labels) in enumerate(sorted(by_limit.items())):
        ax.axvline(limit, color="#c44e52", linestyle="--", linewidth=0.8)
        ax.text(limit + 0.03, -0.9 - 0.45 * i, f"{' & '.join(labels)} target {limit:g}x",
                color="#c44e52", fontsize=7, ha="left", va="center")
    ax.set_ylim(-1.2 - 0.45 * len(by_limit), len(names) - 0.4)
    ax.set_xlabel("median latency, multiple of the no-auth floor (in-process WSGI)")
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlim(0, max(ratios) * 1.35)

    if scales:
        ax = axes.pop(0)
        counts = [s["credentials"] for s in scales]
        labels = [f"{c:,}" for c in counts]
        width = 0.38
        xs = range(len(scales))
        for offset, key, name in ((-width / 2, "key_x_floor", "ours, API key"),
                                  (width / 2, "jwt_x_floor", "ours, JWT")):
            ax.bar([x + offset for x in xs], [s[key] for s in scales], width, label=name)
        ax.set_xticks(list(xs), labels)
        ax.set_xlabel("rows in the credential table (keys / sessions)")
        ax.set_ylabel("x floor")
        ax.legend(fontsize=7)

    if http:
        ax = axes.pop(0)
        rows = http["rows"]
        xs = list(range(len(rows)))
        ax.bar([x - 0.2 for x in xs], [r["of_floor"] * 100 for r in rows], 0.4,
               color="#dd8452", label="req/s, % of no-auth")
        ax.bar([x + 0.2 for x in xs], [r["of_floor_by_cpu"] * 100 for r in rows], 0.4,
               color="#e8c9a8", label="by worker CPU per request")
        ax.axhline(75, color="#c44e52", linestyle="--", linewidth=0.8)
        for x, r in zip(xs, rows, strict=True):
            ax.text(x - 0.2, r["of_floor"] * 100 + 1, f"{r['rps']:.0f}/s", ha="center",
                    fontsize=7)
        ax.set_xticks(xs, [r["name"] for r in rows])
        ax.set_ylabel("% of the no-auth view")
        ax.legend(fontsize=7, loc="upper right")
        ax.set_title(f"gunicorn, 2 {http['worker_class']} workers, loopback", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    return fig
