"""The adaptive ζ search (Optuna TPE + ASHA, docs/zeta_search.md) against the grid ablation at
equal budget: the same number of stage-1 trials per dataset × SSL × augmentation group.

Both studies are real ncsweep studies (a local Ray cluster, real stage-1 trainings on the
bundled SonyAIBORobotSurface1/2, the CPU projector of examples/stage1_cpu.yaml, tiny epochs),
stage 1 only as the thesis' ablation. The grid runs ζ ∈ {0.05, 0.10, 0.15, 0.20} × 2 seeds = 8
trials per group; the search gets 8 trials per group, ζ ∈ [0.01, 0.5] on a log scale, and ASHA
stops trials early on the SVM probe accuracy. Printed per group and method: the best ζ found
and its SVM accuracy (the best finished trial; for the grid also the best seed-mean, as the
ablation reports it), trials run to the end / stopped, stage-1 epochs trained, CPU-hours (the seconds of the
epochs trained, from each trial's history, × 1 CPU); then the search's CPU-hours and epochs as a
fraction of the grid's.

    python benchmarks/zeta_search.py                         # ~10 min on 2 busy cores
    python benchmarks/zeta_search.py --epochs 6 --trials 4   # quicker look (grid: 2 ζ x 2 seeds)

At tiny epochs the probe accuracies are noisy, so "best ζ" is a smoke figure; the CPU-hours
ratio is what the budget argument rests on (ASHA stops ~half the trials at each rung).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

DATASETS = ["SonyAIBORobotSurface1", "SonyAIBORobotSurface2"]
GRID_ZETAS = [0.05, 0.10, 0.15, 0.20]
CPU_STAGE1 = {  # examples/stage1_cpu.yaml
    "ssl": {"proj_hidden": 256, "proj_out": 256, "iternorm_groups": 4},
    "optim": {"batch_size": 32},
}


def _space(name: str, args, search: bool) -> dict:
    zetas = GRID_ZETAS[: max(1, args.trials // len(args.seeds))]
    variant = {"ssl": args.ssl, "augmentation": args.aug}
    if not search:
        variant["zeta"] = zetas
    stage1 = {
        "config": {
            **CPU_STAGE1,
            "optim": {**CPU_STAGE1["optim"], "epochs": args.epochs},
            "run": {"eval_every": args.every, "checkpoint_every": args.every},
        },
        "resources": {"gpu": 0, "cpu": 1},
        "epochs_per_step": args.every,
        "grid": {"dataset": args.datasets, "seed": args.seeds, "variants": [variant]},
    }
    if search:
        stage1["search"] = {
            "zeta": {"low": 0.01, "high": 0.5, "log": True},
            "trials": len(zetas) * len(args.seeds),  # the grid's trials per group
            "searcher": {"n_startup_trials": args.startup, "seed": 0},
            "scheduler": {"metric": "svm_acc", "mode": "max", "grace_period": args.every,
                          "reduction_factor": 2},  # fmt: skip
        }
    return {"study": name, "defaults": {"run": {"device": "cpu"}}, "stage1": stage1,
            "stage2": None}  # fmt: skip


def _run(space: dict, root: Path, cpus: int, report_only: bool = False) -> tuple[list[dict], float]:
    from ncsweep.sweep.driver import RunOptions, run_study
    from ncsweep.sweep.ledger import Ledger

    path = root / f"{space['study']}.yaml"
    path.write_text(yaml.safe_dump(space, sort_keys=False))
    opts = RunOptions(num_cpus=cpus, num_gpus=0, max_concurrent=cpus, tracking_uri="",
                      reuse_actors=True)  # fmt: skip
    t0 = time.time()
    if not report_only:
        run_study(path, root / space["study"], opts, stream=open(os.devnull, "w"))  # noqa: SIM115
    wall = time.time() - t0
    ledger = Ledger(root / space["study"])
    rows = []
    for t in ledger.trials():
        if t["stage"] != "stage1":
            continue
        st = ledger.read(t["key"])
        metrics = _metrics(ledger.trial_dir(t["key"]) / "metrics.json")
        epochs = st.get("stopped_early") or (metrics.get("epochs") if metrics else 0)
        seconds = _trained_seconds(ledger.trial_dir(t["key"]) / "history.jsonl")
        rows.append({**t["labels"], "state": t["state"], "svm": metrics.get("svm_acc"),
                     "epochs": epochs or 0, "cpu_h": seconds / 3600.0})  # fmt: skip
    return rows, wall


def _trained_seconds(history: Path) -> float:
    """Seconds of the epochs a trial trained (validation and probes included), from its
    history: the device time the budget buys, without the process start Ray adds per trial
    (which the shared machine here makes noisy)."""
    import json

    try:
        lines = history.read_text().splitlines()
    except OSError:
        return 0.0
    # ``seconds`` is cumulative (train/base.py): the last epoch's is the trial's total
    return max((float(json.loads(x).get("seconds", 0.0)) for x in lines if x.strip()), default=0.0)


def _metrics(path: Path) -> dict:
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _best(rows: list[dict], by_seed_mean: bool) -> tuple[float | None, float | None]:
    done = [r for r in rows if r["state"] == "done" and r["svm"] is not None]
    if not done:
        return None, None
    if by_seed_mean:
        per = defaultdict(list)
        for r in done:
            per[r["zeta"]].append(r["svm"])
        zeta = max(per, key=lambda z: statistics.mean(per[z]))
        return zeta, statistics.mean(per[zeta])
    r = max(done, key=lambda r: r["svm"])
    return r["zeta"], r["svm"]


def _fmt(zeta: float | None, svm: float | None) -> str:
    return "-" if zeta is None else f"{zeta:<7g} {svm:.3f}"


def _report(name: str, rows: list[dict], wall: float) -> tuple[float, int]:
    groups = defaultdict(list)
    for r in rows:
        groups[(r["dataset"], r["ssl"], r["augmentation"])].append(r)
    for g, rs in sorted(groups.items()):
        best = _fmt(*_best(rs, by_seed_mean=False))
        mean = _fmt(*_best(rs, by_seed_mean=True)) if name == "grid" else "-"
        full = sum(r["state"] == "done" for r in rs)
        stopped = sum(r["state"] == "skipped" for r in rs)
        print(f"{name:<7} {'/'.join(g):<36} {best:<14} {mean:<14} {full:>4} {stopped:>7} "
              f"{sum(r['epochs'] for r in rs):>6} {sum(r['cpu_h'] for r in rs):>8.4f}")  # fmt: skip
    total = sum(r["cpu_h"] for r in rows)
    print(f"{name:<7} {'all groups':<36} {'':<14} {'':<14} {'':>4} {'':>7} "
          f"{sum(r['epochs'] for r in rows):>6} {total:>8.4f}   (wall {wall:.0f} s)")  # fmt: skip
    return total, sum(r["epochs"] for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", nargs="+", default=DATASETS)
    ap.add_argument("--ssl", default="vibcreg")
    ap.add_argument("--aug", default="warp")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--trials", type=int, default=8, help="stage-1 trials per group (both)")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--every", type=int, default=2, help="probe / report / ASHA grace epochs")
    ap.add_argument("--startup", type=int, default=3, help="TPE's random trials first")
    ap.add_argument("--cpus", type=int, default=1, help="trials at once (1 CPU each)")
    ap.add_argument("--out", type=Path, default=None,
                    help="keep the two studies here")
    ap.add_argument("--report-only", action="store_true",
                    help="only report the studies already in --out (no training)")  # fmt: skip
    args = ap.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="zeta_search_"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"groups: {len(args.datasets)} datasets x {args.ssl}/{args.aug}; "
          f"{args.trials} stage-1 trials per group each; {args.epochs} epochs, probes every "
          f"{args.every}; studies in {root}")  # fmt: skip
    print(f"{'method':<7} {'group':<36} {'best trial':<14} {'best ζ (mean)':<14} {'full':>4} "
          f"{'stopped':>7} "
          f"{'epochs':>6} {'CPU-h':>8}")  # fmt: skip
    grid = _report("grid", *_run(_space("zs_grid", args, False), root, args.cpus,
                                 args.report_only))
    search = _report("search", *_run(_space("zs_search", args, True), root, args.cpus,
                                     args.report_only))  # fmt: skip
    print(f"search / grid: CPU-hours {search[0] / grid[0]:.2f}, stage-1 epochs "
          f"{search[1] / grid[1]:.2f} (equal budget: {args.trials} trials per group; ASHA's "
          "stopped trials are the saving)")  # fmt: skip


if __name__ == "__main__":
    main()
