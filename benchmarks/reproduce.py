"""Reduced-scale check of the study's stage-1 comparison on CPU (issue 11 §4).

Trains the naive VQ-VAE (ssl=none), Barlow Twins and VIbCReg with the study's stage-1 config
(4096-wide projector, batch 128, warp, ζ = 0.2, AdamW + per-step cosine) on small study datasets
for a few seeds, probes (KNN k=5, linear SVM) on the whole test split, and prints per method the
mean ± sd over seeds, the per-seed paired difference to the baseline (mean ± sd) and a two-sided
Wilcoxon signed-rank p-value (scipy.stats.wilcoxon) where there are enough seeds for the exact
test to reach p < 0.05 (6 non-zero pairs: with n pairs its smallest p is 2/2^n, 0.0625 at n=5),
and for k = 2 .. n-1 the share of k-seed subsets whose mean difference keeps the sign of the
mean over all n seeds (how many seeds the verdict needs before it stops depending on the draw).

Writes <out>/reproduce.json (settings, every run, the summary) and <out>/reproduce.png (probe
accuracy per method and seed; accuracy vs epoch when --probe-every is set). Each run trains in
<out>/runs/<dataset>/e<epochs>/<method>/seed<k>: a finished run (metrics.json) is reused, an
interrupted one resumes from its last checkpoint, so rerunning a command picks up where it stopped.
Validation (reconstruction over the whole test split) runs only in epochs that probe: on Mallat
it costs 5-10x a training epoch (docs/reproduce.md).

    NCSWEEP_UCR_ROOT=/path/to/UCRArchive_2018 python benchmarks/reproduce.py   # ~1.5 h, 2 cores
    python benchmarks/reproduce.py --preset quick          # bundled data only, ~10 core-minutes
    python benchmarks/reproduce.py --datasets SonyAIBORobotSurface1 --epochs 1000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reproduce_stats import ALPHA, build_summary, report  # noqa: E402

METHODS = ("none", "barlowtwins", "vibcreg")
BASELINE = "none"
PROBES = ("knn_acc", "svm_acc")


# Named checks: (dataset, epochs, seeds) each. --datasets / --epochs / --seeds override them.
# Why these: docs/reproduce.md.
# "default": the shortest Mallat schedule measured whose verdict held (Barlow Twins' KNN ahead of
# the baseline in 5 of 6 seeds at 400 epochs and in every 3-seed subset of them; 300 epochs put it
# far behind) with the fewest seeds that kept it, plus SonyAIBORobotSurface1 (bundled, cheap),
# where neither SSL method beats the baseline at 200 or 1000 epochs. About 1.5 h on two free cores.
SIX = [0, 1, 2, 3, 4, 5]
PRESETS = {
    "default": [("Mallat", 400, [0, 1, 2]), ("SonyAIBORobotSurface1", 200, SIX)],
    "quick": [("SonyAIBORobotSurface1", 200, SIX)],
    "mallat-study": [("Mallat", 1000, SIX)],
}
DEFAULT_PRESET = "default"


def _presets() -> str:
    return "; ".join(
        f"{k}: " + ", ".join(f"{d} {e} epochs seeds {s}" for d, e, s in v)
        for k, v in PRESETS.items()
    )


def resolve_checks(args: argparse.Namespace) -> list[dict]:
    """The preset's checks with the explicit options applied (a new dataset takes the first
    check's epochs and seeds unless those are given too)."""
    preset = {d: (e, s) for d, e, s in PRESETS[args.preset]}
    first = next(iter(preset.values()))
    names = args.datasets or list(preset)
    checks = []
    for name in names:
        epochs, seeds = preset.get(name, first)
        checks.append(
            {"dataset": name, "epochs": args.epochs or epochs, "seeds": args.seeds or seeds}
        )
    return checks


def check_data(args: argparse.Namespace) -> None:
    """Fail before training when a dataset is nowhere to be found (the error says where it looked)."""
    from ncsweep.data import DataError, dataset_available, load_ucr

    for name in dict.fromkeys(c["dataset"] for c in args.checks):
        if not dataset_available(name, args.data_root):
            try:
                load_ucr(name, args.data_root)
            except DataError as exc:
                raise SystemExit(f"benchmarks/reproduce.py: {exc}") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS), help=_presets())
    p.add_argument("--datasets", nargs="+", help="UCR names (default: the preset's)")
    p.add_argument("--epochs", type=int, help="stage-1 schedule length (default: the preset's)")
    p.add_argument("--seeds", type=int, nargs="+", help="default: the preset's")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--augmentation", default="warp", choices=("warp", "slice", "gauss"))
    p.add_argument("--zeta", type=float, default=0.2)
    p.add_argument("--proj-width", type=int, default=4096, help="projector hidden = output width")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--probe-every", type=int, default=0, help="also probe every N epochs (curve)")
    p.add_argument("--checkpoint-every", type=int, default=0, help="0: only at the end (0.4 GB)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--jobs", type=int, default=2, help="runs trained in parallel (processes)")
    p.add_argument("--data-root", default=None, help="UCR root (default: $NCSWEEP_UCR_ROOT)")
    p.add_argument("--out", default="runs/reproduce", help="output folder")
    p.add_argument("--keep-checkpoints", action="store_true", help="keep finished checkpoints")
    args = p.parse_args(argv)
    args.checks = resolve_checks(args)
    if BASELINE not in args.methods:
        p.error("--methods must include the baseline 'none' (differences are taken against it)")
    if (
        (args.epochs is not None and args.epochs < 1)
        or args.jobs < 1
        or args.threads < 0
        or args.probe_every < 0
    ):
        p.error("--epochs and --jobs must be >= 1, --threads and --probe-every >= 0")
    return args


def run_config(args: argparse.Namespace, dataset: str, method: str, seed: int, epochs: int):
    """The study's stage-1 config with this check's overrides (the baseline has no aug, no ζ)."""
    from ncsweep.config import Stage1Config, from_dict

    ssl: dict = {"method": method}
    if method != BASELINE:
        ssl |= {"augmentation": args.augmentation, "zeta": args.zeta}
        ssl |= {"proj_hidden": args.proj_width, "proj_out": args.proj_width}
    every = args.probe_every if args.probe_every else epochs
    cfg = {
        "data": {"dataset": dataset, "root": args.data_root},
        "ssl": ssl,
        "optim": {"epochs": epochs, "batch_size": args.batch_size},
        "run": {
            "seed": seed,
            "eval_every": every,
            "checkpoint_every": args.checkpoint_every,
            "device": "cpu",
            "num_threads": args.threads,
        },
    }
    return from_dict(Stage1Config, cfg, source="benchmarks/reproduce.py")


def read_history(run_dir: Path) -> list[dict]:
    path = run_dir / "history.jsonl"
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln] if path.is_file() else []


def train_seconds_per_epoch(history: list[dict]) -> float | None:
    """Median wall time of the epochs that neither probed nor validated (pure training)."""
    secs = [h["seconds"] for h in history]
    plain = [
        b - a for a, b, h in zip(secs, secs[1:], history[1:], strict=False) if "knn_acc" not in h
    ]
    return statistics.median(plain) if plain else None


def train_one(args: argparse.Namespace, dataset: str, method: str, seed: int, epochs: int) -> dict:
    """Train (or reuse, or resume) one run; return its record for the JSON."""
    from ncsweep.train.common import train_to_end
    from ncsweep.train.stage1 import Stage1Trainer

    run_dir = Path(args.out) / "runs" / dataset / f"e{epochs}" / method / f"seed{seed}"
    metrics_path = run_dir / "metrics.json"
    cfg = run_config(args, dataset, method, seed, epochs)
    if metrics_path.is_file():
        refuse_other_config(run_dir, cfg)
    else:
        # the package validates only on probe epochs and the last (run.val_every unset, issue 15)
        trainer = Stage1Trainer(cfg, run_dir)
        tag = f"[{dataset} {method} seed {seed}]"
        train_to_end(trainer, lambda m: _log_probe(tag, m, epochs), resume=True)
        metrics_path.write_text(json.dumps(trainer.final_metrics(), indent=2, default=float))
    if not args.keep_checkpoints:
        for path in run_dir.glob("checkpoint*.pt"):  # latest and previous: ~0.4 GB each
            path.unlink()
    final = json.loads(metrics_path.read_text())
    history = read_history(run_dir)
    return {
        "dataset": dataset,
        "check": f"{dataset}, {epochs} epochs",
        "method": method,
        "seed": seed,
        "epochs": epochs,
        **{k: final.get(k) for k in (*PROBES, "val_recon", "perplexity", "seconds")},
        "train_s_per_epoch": train_seconds_per_epoch(history),
        "probes": [
            {"epoch": h["epoch"], **{k: h[k] for k in PROBES}} for h in history if "knn_acc" in h
        ],
    }


# Settings that change what a finished run reports, not what it learned: a run made with another
# probe or checkpoint cadence (or thread count, or data root) is the same run.
REUSE_FREE = {("run", "eval_every"), ("run", "checkpoint_every")}


def refuse_other_config(run_dir: Path, cfg) -> None:
    """A finished run is reused only when it was trained with this config: the folder names only
    dataset, epochs, method and seed, so `--zeta 0.5` into an `--out` holding ζ = 0.2 runs must
    not report those as its own."""
    import yaml

    from ncsweep.config import to_dict
    from ncsweep.train.common import CONFIG, stage_config_mismatch

    saved_path = run_dir / CONFIG
    if not saved_path.is_file():
        return  # metrics without a config: written by hand, nothing to compare
    saved = yaml.safe_load(saved_path.read_text()) or {}
    diffs = stage_config_mismatch("stage1", saved, to_dict(cfg), REUSE_FREE, "that run")
    if diffs:
        raise SystemExit(
            f"benchmarks/reproduce.py: {run_dir} holds a finished run trained with another "
            "config:\n  " + "\n  ".join(diffs) + "\nUse another --out (or delete that folder "
            "to train it again)."
        )


def _log_probe(tag: str, metrics: dict, epochs: int) -> None:
    if "knn_acc" in metrics:
        print(
            f"{tag} epoch {metrics['epoch']}/{epochs}: knn {metrics['knn_acc']:.3f} "
            f"svm {metrics['svm_acc']:.3f} ({metrics['seconds']:.0f} s)",
            flush=True,
        )


def plan_runs(args: argparse.Namespace) -> list[tuple[str, str, int, int]]:
    """(dataset, method, seed, epochs), seed-major, so a stopped check still has complete pairs
    for its first seeds (and a rerun with more seeds reuses them). Several processes: longest
    first within a seed, so the baseline (~1/3 of an SSL run here) fills a gap instead of
    starting last and leaving the other workers idle."""
    runs = [
        (c["dataset"], m, s, c["epochs"])
        for c in args.checks
        for s in c["seeds"]
        for m in args.methods
    ]
    if args.jobs > 1:
        runs.sort(key=_cost, reverse=True)
    runs.sort(key=lambda r: r[2])  # stable: seed-major within and across checks
    return runs


def _cost(run: tuple[str, str, int, int]) -> float:
    from ncsweep.data import REGISTRY

    dataset, method, _, epochs = run
    info = REGISTRY.get(dataset)
    length = info.length * max(1, info.n_train // 128) if info else 100
    return epochs * length * (1 if method == BASELINE else 6)


def train_all(args: argparse.Namespace) -> list[dict]:
    runs = plan_runs(args)
    if args.jobs == 1:
        records = [train_one(args, *r) for r in runs]
    else:
        # spawn: a fresh interpreter per worker (torch threads and fork do not mix)
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(train_one, args, *r) for r in runs]
            records = [f.result() for f in futures]
    return sorted(records, key=lambda r: (r["check"], r["seed"], METHODS.index(r["method"])))


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(args.threads, 1)))
    check_data(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    records = train_all(args)
    summary = build_summary(records, BASELINE, PROBES)
    print(report(summary, args, BASELINE), flush=True)
    result = {
        "settings": {**vars(args), "alpha": ALPHA},
        "wall_seconds": round(time.perf_counter() - start, 1),  # reused runs cost ~0 here
        "run_seconds_total": round(sum(r["seconds"] or 0.0 for r in records), 1),
        "cpu_count": os.cpu_count(),
        "runs": records,
        "summary": summary,
    }
    (out / "reproduce.json").write_text(json.dumps(result, indent=2, default=_json_default))
    from reproduce_plot import plot

    plot(result, out / "reproduce.png")
    print(f"\nwrote {out / 'reproduce.json'} and {out / 'reproduce.png'}", flush=True)
    return result


def _json_default(x):
    return None if isinstance(x, float) and math.isnan(x) else float(x)


if __name__ == "__main__":
    main()
