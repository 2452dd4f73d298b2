"""Benchmark ncsweep's scheduling on a simulated study, through the REAL searcher and Tune.

Each trial of the main study's shape (13 evaluators, 364 stage-1, 364 stage-2; --datasets to
shrink) sleeps for a time proportional to its estimated cost (epochs × train series × length,
SSL ×2: the ratios of ncsweep.study.timings), scaled so the whole study takes about --target
seconds of wall clock on --gpus logical GPUs. Reports the measured makespan against the lower
bound max(critical path, total work / GPUs), against a two-phase barrier schedule (all stage 1,
then all stage 2; simulated with the same greedy priority list), and Tune's overhead per trial.

    python benchmarks/orchestrator.py --gpus 8 --target 60
    python benchmarks/orchestrator.py --datasets 3 --gpus 4 --target 30   # quicker
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

SPACE = Path(__file__).resolve().parents[1] / "search_spaces" / "main_study.yaml"


def plan(n_datasets: int | None) -> list[dict]:
    from ncsweep.study import expand, load_space

    space = load_space(SPACE)
    if n_datasets:
        object.__setattr__(space, "datasets", space.datasets[-n_datasets:])
    return [t.to_dict() for t in expand(space)]


def durations(trials: list[dict], gpus: int, target: float) -> dict[str, float]:
    from ncsweep.sweep.searcher import _cost

    cost = {t["key"]: _cost(t) for t in trials}
    scale = target * gpus / sum(cost.values())
    return {k: c * scale for k, c in cost.items()}


def critical_path(trials: list[dict], dur: dict[str, float]) -> float:
    finish: dict[str, float] = {}
    for t in trials:  # topological order
        finish[t["key"]] = max((finish[d] for d in t["depends_on"]), default=0.0) + dur[t["key"]]
    return max(finish.values())


def list_schedule(trials: list[dict], dur: dict[str, float], gpus: int, order: list[str]) -> float:
    """Greedy list scheduling: whenever a GPU frees, start the first ready trial of ``order``."""
    deps = {t["key"]: set(t["depends_on"]) for t in trials}
    done: set[str] = set()
    todo = list(order)
    running: list[tuple[float, str]] = []
    now = 0.0
    while todo or running:
        ready = [k for k in todo if deps[k] <= done]
        while ready and len(running) < gpus:
            k = ready.pop(0)
            todo.remove(k)
            heapq.heappush(running, (now + dur[k], k))
        now, k = heapq.heappop(running)
        done.add(k)
    return now


def barrier(trials: list[dict], dur: dict[str, float], gpus: int, order: list[str]) -> float:
    phase1 = [t for t in trials if t["stage"] != "stage2"]
    phase2 = [{**t, "depends_on": []} for t in trials if t["stage"] == "stage2"]
    first = list_schedule(phase1, dur, gpus, [k for k in order if not k.startswith("s2")])
    return first + list_schedule(phase2, dur, gpus, [k for k in order if k.startswith("s2")])


def run_tune(
    trials: list[dict], dur: dict[str, float], gpus: int, storage: Path
) -> tuple[float, list]:
    import ray
    from ray import tune

    from ncsweep.sweep.ledger import Ledger
    from ncsweep.sweep.searcher import DependencySearcher

    class SleepTrial(tune.Trainable):
        """Stands in for a trial: sleeps its duration, then writes what a finished trial writes."""

        def setup(self, config):
            self.config_ = config

        def reset_config(self, new_config):
            self.config_ = new_config
            return True

        def step(self):
            c = self.config_
            ledger = Ledger(c["storage"])
            ledger.mark_running(c["key"])
            time.sleep(c["seconds"])
            (ledger.trial_dir(c["key"]) / "metrics.json").write_text("{}")
            ledger.mark_done(c["key"])
            return {"done": True}

        def save_checkpoint(self, checkpoint_dir):
            return {}

        def load_checkpoint(self, checkpoint):
            pass

    ledger = Ledger(storage)
    searcher = DependencySearcher(
        trials,
        ledger,
        lambda t: {"key": t["key"], "seconds": dur[t["key"]], "storage": str(storage)},
    )
    os.environ["TUNE_MAX_PENDING_TRIALS_PG"] = str(gpus)
    ray.init(num_cpus=gpus, num_gpus=gpus, include_dashboard=False, log_to_driver=False)
    try:
        tuner = tune.Tuner(
            tune.with_resources(SleepTrial, {"cpu": 1, "gpu": 1}),
            tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1, reuse_actors=True),
            run_config=tune.RunConfig(
                storage_path=str(storage / "ray"),
                verbose=0,
                checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False),
            ),
        )
        start = time.time()
        tuner.fit()
        makespan = time.time() - start
    finally:
        ray.shutdown()
    return makespan, [ledger.read(t["key"]) for t in trials]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gpus", type=int, default=8, help="logical GPUs (one trial each)")
    ap.add_argument("--target", type=float, default=60.0, help="ideal makespan in seconds")
    ap.add_argument("--datasets", type=int, default=None, help="use only the N smallest datasets")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from ncsweep.sweep.searcher import priorities

    trials = plan(args.datasets)
    dur = durations(trials, args.gpus, args.target)
    prio = priorities(trials)
    order = sorted(dur, key=lambda k: -prio[k])
    work = sum(dur.values())
    lower = max(critical_path(trials, dur), work / args.gpus)
    simulated = list_schedule(trials, dur, args.gpus, order)
    two_phase = barrier(trials, dur, args.gpus, order)
    with tempfile.TemporaryDirectory(prefix="ncsweep-bench-") as tmp:
        makespan, states = run_tune(trials, dur, args.gpus, Path(tmp))
    started = min(s["start"] for s in states)
    last_end = max(s["end"] for s in states)
    busy = sum(s["end"] - s["start"] for s in states)
    report = {
        "trials": len(trials),
        "gpus": args.gpus,
        "total_work_s": round(work, 2),
        "lower_bound_s": round(lower, 2),
        "critical_path_s": round(critical_path(trials, dur), 2),
        "ncsweep_makespan_s": round(last_end - started, 2),
        "ncsweep_vs_lower_bound": round((last_end - started) / lower, 4),
        "simulated_zero_overhead_s": round(simulated, 2),
        "two_phase_barrier_s": round(two_phase, 2),
        "barrier_vs_lower_bound": round(two_phase / lower, 4),
        "tune_wall_s": round(makespan, 2),
        "tune_overhead_per_trial_s": round(
            (args.gpus * (last_end - started) - busy) / len(trials), 4
        ),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for k, v in report.items():
            print(f"{k:<28} {v}")


if __name__ == "__main__":
    main()
