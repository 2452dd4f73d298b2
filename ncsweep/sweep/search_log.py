"""What an adaptive ζ search chose, per group: ``<storage>/search.md`` and ``search.json``,
written when the Tune run ends and attached to the study's parent run (``search/``), so the
MLflow UI shows every ζ tried, how far it got and the best one beside the trial runs."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

from ncsweep.fsutil import atomic_write_text
from ncsweep.study import adaptive as A


def _row(searcher, key: str) -> dict[str, Any]:
    t, st = searcher.trials[key], searcher.ledger.read(key)
    value = searcher._final(key) if searcher.status[key] == "done" else st.get("stopped_value")
    return {"key": key, "zeta": t.labels["zeta"], "seed": t.labels["seed"],
            "state": searcher.status[key], "stopped_early": st.get("stopped_early"),
            searcher.spec.metric: value}  # fmt: skip


def search_report(searcher) -> dict[str, Any]:
    """Per group: its trials by ζ and the best finished one (the metric at the end)."""
    metric, sign = searcher.spec.metric, 1.0 if searcher.spec.mode == "max" else -1.0
    out: dict[str, Any] = {"metric": metric, "mode": searcher.spec.mode, "groups": {}}
    for group in searcher.groups:
        rows = sorted((_row(searcher, k) for k, t in searcher.trials.items()
                       if A.is_searched(t) and A.group_of(t.labels) == group),
                      key=lambda r: r["zeta"])  # fmt: skip
        done = [r for r in rows if r["state"] == "done" and _finite(r[metric])]
        best = max(done, key=lambda r: sign * r[metric], default=None)
        out["groups"][group] = {"trials": rows, "best": best}
    return out


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def render(report: dict[str, Any]) -> str:
    metric = report["metric"]
    lines = [f"# ζ search: {metric} ({report['mode']})", ""]
    for group, g in report["groups"].items():
        best = g["best"]
        head = f"best ζ {best['zeta']:g} ({metric} {best[metric]:.4g})" if best else "no finished trial"
        lines += [f"## {group}: {head}", "", f"| ζ | seed | state | {metric} |", "|---|---|---|---|"]
        for r in g["trials"]:
            state = f"stopped at epoch {r['stopped_early']}" if r["stopped_early"] else r["state"]
            value = f"{r[metric]:.4g}" if _finite(r[metric]) else "-"
            lines.append(f"| {r['zeta']:g} | {r['seed']} | {state} | {value} |")
        lines.append("")
    return "\n".join(lines)


def write_search_log(searcher, tracking: dict[str, Any] | None) -> list[Path]:
    """``search.md`` / ``search.json`` in the storage; logged to the parent run when tracked."""
    report = search_report(searcher)
    storage = searcher.ledger.storage
    paths = [storage / "search.json", storage / "search.md"]
    atomic_write_text(paths[0], json.dumps(report, indent=1, default=str))
    atomic_write_text(paths[1], render(report))
    if tracking:
        try:
            from ncsweep.tracking import client as C

            client = C.make_client(tracking["uri"])
            for path in paths:
                client.log_artifact(tracking["parent_run_id"], str(path), "search")
        except Exception as exc:  # noqa: BLE001 - the files are in the storage either way
            warnings.warn(f"search log not attached to the parent run ({exc})", stacklevel=2)
    return paths
