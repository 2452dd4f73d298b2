"""What a study will run, without running it: counts, edges, resources, GPU hours, missing data."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from ncsweep.stages import STAGES
from ncsweep.study import adaptive
from ncsweep.study.cost import find_part, trial_parts
from ncsweep.study.expand import TrialSpec
from ncsweep.study.space import SearchSpace
from ncsweep.study.timings import Timings, epoch_seconds, ssl_kind

EDGES_SHOWN = 5
_EVALUATOR = STAGES["evaluator"].name  # stage 2's CAS trains the evaluator's FCN recipe
REFERENCE = "the thesis ran the 728-model grid in about 700 GPU-hours (NTNU Idun)"
NO_TIMINGS = (
    "unknown (no measured timings; run benchmarks/stage1_throughput.py --write-timings F and "
    "benchmarks/stage2_throughput.py --write-timings F on your GPU, then plan --timings F; "
    "whole trials, evaluation included: benchmarks/trial_cost.py --device cuda --out F)"
)


def variant_name(labels: dict[str, Any]) -> str:
    if labels.get("ssl") in (None, "none"):
        return "none"
    return f"{labels['ssl']}-{labels['augmentation']}-z{labels['zeta']:g}"


def data_root(trials: list[TrialSpec]) -> str | None:
    for t in trials:
        if "data" in t.config:  # stage 2 reads its data where its stage 1 did
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


def _eval_seconds(t: TrialSpec, info, timings: Timings) -> float | None:
    """The generative evaluation that ends a stage-2 trial: FID/IS samples + CAS samples, then the
    CAS FCN (the evaluator's recipe, on max(cas_min_samples, n_train) synthetic series)."""
    ev, gen = t.config["evaluator"], t.config["eval"]
    n_fid = gen["n_fid"] or info.n_test
    n_cas = max(gen["cas_min_samples"], info.n_train)
    sample = timings.sample_rate(info.length)
    fcn = epoch_seconds(_EVALUATOR, info.length, n_cas, None, timings, ev["batch_size"])
    if sample is None or fcn is None:
        return None
    return sample * (n_fid + n_cas) / 1000.0 + fcn * gen["cas_epochs"]


def trial_seconds(t: TrialSpec, timings: Timings | None) -> tuple[dict[str, float] | None, str]:
    """({"train", "eval"} seconds on one device, why unknown) of one trial: from the dataset's
    measured whole-trial parts when the file has them (evaluation at the trial's cadence), else
    from the per-kseries training rates (stage 2's generative evaluation the only evaluation)."""
    from ncsweep.data import REGISTRY

    info = REGISTRY.get(t.labels["dataset"])
    if timings is None:
        return None, "no measured timings"
    if info is None:
        return None, f"{t.stage}/{t.labels['dataset']} (dataset not in the registry)"
    ssl = t.labels.get("ssl")
    part = find_part(timings.parts, t.labels["dataset"], t.stage, ssl_kind(t.stage, ssl))
    if part is not None:
        return trial_parts(part, t.stage, t.config, t.epochs, info.n_train, info.n_test), ""
    stage = STAGES[t.stage]
    batch = stage.batch_size(t.config)
    per_epoch = epoch_seconds(t.stage, info.length, info.n_train, ssl, timings, batch)
    if per_epoch is None:
        where = f"{t.labels['dataset']} " if timings.parts else ""  # parts are per dataset
        return None, f"{where}{t.stage}/{ssl_kind(t.stage, ssl)} (not measured)"
    extra = _eval_seconds(t, info, timings) if stage.samples else 0.0
    if extra is None:
        return None, f"{t.stage} generative evaluation (no sample or evaluator timing)"
    return {"train": per_epoch * t.epochs, "eval": extra}, ""


def trial_hours(t: TrialSpec, timings: Timings | None) -> tuple[float | None, str]:
    """(hours on one device, why unknown) of one trial, evaluation included."""
    parts, why = trial_seconds(t, timings)
    return (None, why) if parts is None else (sum(parts.values()) / 3600.0, "")


def critical_path(trials: list[TrialSpec], hours: dict[str, float]) -> float:
    """Longest chain of trial durations along the dependencies (trials are in topological order)."""
    finish: dict[str, float] = {}
    for t in trials:
        finish[t.key] = hours[t.key] + max((finish[d] for d in t.depends_on), default=0.0)
    return max(finish.values(), default=0.0)


def gpu_hours(trials: list[TrialSpec], timings: Timings | None = None) -> dict[str, Any]:
    """Σ gpu × hours per stage and the critical path; ``None`` where any timing is unknown."""
    per_trial: dict[str, float] = {}
    unknown: set[str] = set()
    total: dict[str, float | None] = dict.fromkeys(STAGES, 0.0)
    per_dataset: dict[str, dict[str, list[float]]] = defaultdict(dict)
    for t in trials:
        parts, why = trial_seconds(t, timings)
        if parts is None:
            unknown.add(why)
            total[t.stage] = None
            continue
        per_trial[t.key] = sum(parts.values()) / 3600.0
        gpu = t.resources.get("gpu", 0)
        if total[t.stage] is not None:
            total[t.stage] += per_trial[t.key] * gpu  # type: ignore[operator]
        cell = per_dataset[t.labels["dataset"]].setdefault(t.stage, [0.0, 0.0])
        cell[0] += per_trial[t.key] * gpu
        cell[1] += parts["eval"] / 3600.0 * gpu
    known = [v for v in total.values() if v is not None]
    total["total"] = sum(known) if len(known) == len(STAGES) else None
    path = critical_path(trials, per_trial) if not unknown else None
    by_dataset = {
        d: {s: {"hours": h, "eval_hours": e} for s, (h, e) in c.items()}
        for d, c in per_dataset.items()
    }
    return {
        "hours": total,
        "unknown": sorted(unknown),
        "critical_path": path,
        "per_dataset": by_dataset,
    }


def wall_hours(hours: dict[str, Any], gpus: int) -> float | None:
    """Lower bound on the wall clock on ``gpus`` GPUs: max(critical path, total / gpus)."""
    total = hours["hours"]["total"]
    return None if total is None else max(hours["critical_path"], total / gpus)


def summarize(
    space: SearchSpace,
    trials: list[TrialSpec],
    gpus: int | None = None,
    timings: Timings | None = None,
) -> dict:
    """The plan as a JSON-friendly dict (``ncsweep plan --json``); GPU-hours need ``timings``."""
    by_stage = Counter(t.stage for t in trials)
    per_dataset: dict[str, Counter] = defaultdict(Counter)
    per_variant: Counter = Counter()
    for t in trials:
        per_dataset[t.labels["dataset"]][t.stage] += 1
        if STAGES[t.stage].grid:
            per_variant[variant_name(t.labels)] += 1
    edges = [f"{t.key} <- {dep}" for t in trials for dep in t.depends_on]
    first = {s: next((t for t in trials if t.stage == s), None) for s in STAGES}
    hours = gpu_hours(trials, timings)
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
        "gpu_hours_per_dataset": hours["per_dataset"],  # {dataset: {stage: hours, eval_hours}}
        "critical_path_hours": hours["critical_path"],
        "timings": _timings_info(timings),
        "reference": REFERENCE,
        "missing_datasets": missing_datasets(space, trials),
        "search": adaptive.budget(space, timings),  # an adaptive ζ search: its budget, not a grid
    }
    if gpus:
        out["gpus"] = gpus
        out["wall_hours"] = wall_hours(hours, gpus)
    return out


def _timings_info(timings: Timings | None) -> dict[str, str] | None:
    if timings is None:
        return None
    return {"file": timings.source, "device": timings.device, "measured": timings.measured}


def _fmt_hours(h: float | None) -> str:
    return "unknown" if h is None else f"{h:.1f}"


def _render_hours(plan: dict[str, Any]) -> list[str]:
    info, gh = plan["timings"], plan["gpu_hours"]
    if info is None:
        lines = [f"  GPU hours: {NO_TIMINGS}"]
        if "wall_hours" in plan:
            lines.append(f"  wall clock on {plan['gpus']} GPUs: unknown")
        return lines + [f"  reference: {plan['reference']}"]
    unit = "CPU hours, NOT a GPU estimate" if info["device"].startswith("cpu") else "GPU hours"
    names = {"stage2": "stage2 (with FID/IS/CAS)"}
    lines = [
        f"  {unit} (per-epoch timings measured on {info['device']}, {info['measured']}, "
        f"{info['file']}):",
        "    " + ", ".join(f"{names.get(k, k)} {_fmt_hours(v)}" for k, v in gh.items()),
    ]
    lines += [f"    unknown: {why}" for why in plan["gpu_hours_unknown"]]
    lines += _render_per_dataset(plan.get("gpu_hours_per_dataset") or {})
    if plan["critical_path_hours"] is not None:
        lines.append(
            f"  critical path (longest dependency chain): {plan['critical_path_hours']:.1f} h"
        )
    if "wall_hours" in plan and plan["wall_hours"] is None:
        lines.append(f"  wall clock on {plan['gpus']} GPUs: unknown")
    elif "wall_hours" in plan:
        lines.append(
            f"  wall clock on {plan['gpus']} GPUs: >= {plan['wall_hours']:.1f} h "
            "(lower bound: max(critical path, total / GPUs))"
        )
    return lines + [f"  reference: {plan['reference']}"]


def _render_per_dataset(per: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """Hours per dataset and stage, each with its evaluation share (validation, probes,
    sampling, CAS, scoring), and the per-stage sums."""
    if not per:
        return []
    head = "".join(f"{s:>22}" for s in STAGES)
    lines = [f"    {'hours per dataset (eval share)':<28}{head}{'total':>9}"]
    for d, cells in per.items():
        row = "".join(_cell(cells.get(s)) for s in STAGES)
        total = sum(c["hours"] for c in cells.values())
        lines.append(f"    {d:<28}{row}{total:>9.1f}")
    return lines


def _cell(c: dict[str, float] | None) -> str:
    if not c:
        return f"{'-':>22}"
    share = c["eval_hours"] / c["hours"] if c["hours"] > 0 else 0.0
    return f"{c['hours']:>14.1f} ({share:>4.0%})"


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
    if plan.get("search"):
        lines += adaptive.render_budget(plan)
    else:
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
    lines += _render_hours(plan)
    for m in plan["missing_datasets"]:
        lines.append(
            f"  WARNING: dataset {m['dataset']} not found (looked in {', '.join(m['looked_in'])})"
        )
    return "\n".join(lines)
