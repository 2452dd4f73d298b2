"""What a study will run, without running it: counts, edges, resources, GPU hours, missing data."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from ncsweep.study.expand import STAGES, TrialSpec
from ncsweep.study.space import SearchSpace
from ncsweep.study.timings import epoch_seconds

EDGES_SHOWN = 5


def variant_name(labels: dict[str, Any]) -> str:
    if labels.get("ssl") in (None, "none"):
        return "none"
    return f"{labels['ssl']}-{labels['augmentation']}-z{labels['zeta']:g}"


def data_root(trials: list[TrialSpec]) -> str | None:
    for t in trials:
        if t.stage in ("stage1", "evaluator"):
            return t.config["data"].get("root")
    return None


def missing_datasets(space: SearchSpace, trials: list[TrialSpec]) -> list[dict[str, Any]]:
    """Datasets of the grid that no data root holds, and where they were looked for."""
    from ncsweep.data import dataset_available, resolve_roots

    root = data_root(trials)
    where = [str(p) for p in resolve_roots(root)]
    return [
        {"dataset": d, "looked_in": where} for d in space.datasets if not dataset_available(d, root)
    ]


def _trial_hours(t: TrialSpec) -> float | None:
    from ncsweep.data import REGISTRY

    info = REGISTRY.get(t.labels["dataset"])
    if info is None:
        return None
    per_epoch = epoch_seconds(t.stage, info.length, info.n_train, t.labels.get("ssl"))
    return None if per_epoch is None else per_epoch * t.epochs / 3600.0


def gpu_hours(trials: list[TrialSpec]) -> dict[str, Any]:
    """Σ gpu × hours per stage; ``None`` where any trial's per-epoch timing is unknown."""
    total: dict[str, float | None] = {}
    unknown: set[str] = set()
    for stage in STAGES:
        hours = 0.0
        for t in (t for t in trials if t.stage == stage and t.resources.get("gpu", 0) > 0):
            h = _trial_hours(t)
            if h is None:
                unknown.add(f"{stage}/{t.labels['dataset']}")
                hours = None  # type: ignore[assignment]
                break
            hours += h * t.resources["gpu"]
        total[stage] = hours
    known = [v for v in total.values() if v is not None]
    total["total"] = sum(known) if len(known) == len(STAGES) else None
    return {"hours": total, "unknown": sorted(unknown)}


def summarize(space: SearchSpace, trials: list[TrialSpec], gpus: int | None = None) -> dict:
    """The plan as a JSON-friendly dict (``ncsweep plan --json``)."""
    by_stage = Counter(t.stage for t in trials)
    per_dataset: dict[str, Counter] = defaultdict(Counter)
    per_variant: Counter = Counter()
    for t in trials:
        per_dataset[t.labels["dataset"]][t.stage] += 1
        if t.stage == "stage1":
            per_variant[variant_name(t.labels)] += 1
    edges = [f"{t.key} <- {dep}" for t in trials for dep in t.depends_on]
    first = {s: next((t for t in trials if t.stage == s), None) for s in STAGES}
    hours = gpu_hours(trials)
    out = {
        "study": space.name,
        "source": space.source,
        "stage1": by_stage["stage1"],
        "stage2": by_stage["stage2"],
        "evaluators": by_stage["evaluator"],
        "trials": len(trials),
        "per_dataset": {d: dict(c) for d, c in per_dataset.items()},
        "per_variant": dict(per_variant),
        "seeds": list(space.seeds),
        "edges": {"count": len(edges), "first": edges[:EDGES_SHOWN]},
        "resources": {s: dict(t.resources) for s, t in first.items() if t},
        "epochs": {s: t.epochs for s, t in first.items() if t},
        "gpu_hours": hours["hours"],
        "gpu_hours_unknown": hours["unknown"],
        "missing_datasets": missing_datasets(space, trials),
    }
    if gpus:
        total = hours["hours"]["total"]
        out["gpus"] = gpus
        out["wall_clock_hours"] = None if total is None else total / gpus
    return out


def _fmt_hours(h: float | None) -> str:
    return "unknown" if h is None else f"{h:.1f}"


def render(plan: dict[str, Any]) -> str:
    """The human-readable plan."""
    lines = [
        f"study {plan['study']} ({plan['source']}): {plan['trials']} trials",
        f"  stage1 {plan['stage1']}   stage2 {plan['stage2']}   evaluators {plan['evaluators']}",
        f"  seeds {plan['seeds']}",
        "  per dataset (stage1 / stage2 / evaluator):",
    ]
    for d, c in plan["per_dataset"].items():
        lines.append(
            f"    {d:<24} {c.get('stage1', 0):>4} {c.get('stage2', 0):>4} {c.get('evaluator', 0):>3}"
        )
    lines.append("  stage-1 trials per variant:")
    lines += [f"    {v:<28} {n}" for v, n in plan["per_variant"].items()]
    edges = plan["edges"]
    lines.append(f"  dependency edges: {edges['count']}")
    lines += [f"    {e}" for e in edges["first"]]
    if edges["count"] > len(edges["first"]):
        lines.append(f"    ... and {edges['count'] - len(edges['first'])} more")
    for s, r in plan["resources"].items():
        lines.append(
            f"  {s:<9} resources gpu={r['gpu']:g} cpu={r['cpu']:g}  epochs={plan['epochs'][s]}"
        )
    gh = plan["gpu_hours"]
    lines.append("  GPU hours: " + ", ".join(f"{k} {_fmt_hours(v)}" for k, v in gh.items()))
    if "wall_clock_hours" in plan:
        lines.append(
            f"  wall clock on {plan['gpus']} GPUs: {_fmt_hours(plan['wall_clock_hours'])} h"
        )
    for m in plan["missing_datasets"]:
        lines.append(
            f"  WARNING: dataset {m['dataset']} not found (looked in {', '.join(m['looked_in'])})"
        )
    return "\n".join(lines)
