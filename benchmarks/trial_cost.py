"""The bill before launch (issue 15): what each part of a whole trial costs, per study dataset.

For every dataset (real data where a root holds it, else synthetic data of the registry's shapes:
cost depends on shapes only) it measures, at the study config, with the study's own trainers:
stage 1's training epoch per SSL kind, its validation pass over the whole test split and its
probe pass; stage 2's prior epoch, validation, sampling + featurising per 1000 series, one CAS
FCN epoch and the scoring; the evaluator's FCN epoch and test pass. Each part is timed on
``--steps`` steps or ``--val-series`` test series and scaled (all are linear in those). The
result is the ``trials`` section of a timings file for ``ncsweep plan SPACE --timings F``.

    python benchmarks/trial_cost.py --threads 1 --steps 2 --out benchmarks/timings/cpu.json
    python benchmarks/trial_cost.py --datasets Mallat --mallat          # the 1.4x target
    python benchmarks/trial_cost.py --check-only --out F                 # model vs 3 trials

``--check`` runs three whole trials end to end on ``--check-dataset`` (a stage 1, the evaluator,
a stage 2 with its scoring; small epochs) and prints predicted vs measured (target: within 20 %).
``--mallat`` prints what 100 more stage-1 epochs cost at the study defaults with the whole test
split vs a 16-series one, before (validation every epoch, no-grad at batch 256) and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import trial_report  # noqa: E402
from trial_parts import now, stage1_parts, stage2_parts, write_synthetic  # noqa: E402

DEFAULT_ROOT = os.environ.get("NCSWEEP_UCR_ROOT", "/work/shared/data/ucr")


def parse(argv=None) -> argparse.Namespace:
    from ncsweep.data import REGISTRY

    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--datasets", nargs="*", default=list(REGISTRY), help="registry names")
    ap.add_argument("--data-root", default=DEFAULT_ROOT, help="UCR root with the real datasets")
    ap.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--steps", type=int, default=2, help="timed training steps per part")
    ap.add_argument("--val-series", type=int, default=512, help="test series timed per pass")
    ap.add_argument("--sample-series", type=int, default=128, help="series timed per sampling")
    ap.add_argument("--out", type=Path, help="timings file to write/merge (trials section)")
    ap.add_argument("--space", default="search_spaces/main_study.yaml", help="study to price")
    ap.add_argument("--check", action="store_true", help="also run the 3-trial end-to-end check")
    ap.add_argument("--check-only", action="store_true", help="only the check, parts from --out")
    ap.add_argument("--check-dataset", default="SonyAIBORobotSurface1")
    ap.add_argument("--check-epochs", type=int, default=4, help="epochs of each checked trial")
    ap.add_argument("--mallat", action="store_true", help="print the 100-epoch Mallat target")
    return ap.parse_args(argv)


def data_root_for(name: str, args, synth: Path) -> str:
    """The real root when it holds ``name``, else a synthetic copy of the registry's shapes."""
    from ncsweep.data import dataset_available

    if dataset_available(name, args.data_root):
        return args.data_root
    if not (synth / name).is_dir():
        write_synthetic(name, synth)
    return str(synth)


def measure(name: str, args, work: Path) -> tuple[list, dict]:
    """All parts of ``name``; the extras dict carries what the before/after report needs."""
    root = data_root_for(name, args, work / "synthetic")
    start = now()
    parts, ckpt = stage1_parts(name, root, args, work / name)
    more, test_s = stage2_parts(ckpt, args, work / name, work / "evaluators")
    synthetic = root != args.data_root
    kind = "synthetic" if synthetic else "real"
    print(f"{name:<24} {kind:<9} measured in {now() - start:6.1f} s", flush=True)
    return parts + more, {"synthetic": synthetic, "test_features_s": test_s}


def device_label(args) -> str:
    import torch

    from ncsweep.study.timings import device_label as label

    torch.set_num_threads(args.threads)
    return label(args.device)


def main(argv=None) -> None:
    args = parse(argv)
    from ncsweep.study.timings import load_timings, merge_timings

    with tempfile.TemporaryDirectory(prefix="trial_cost-") as tmp:
        work = Path(tmp)
        if args.check_only:
            timings = load_timings(args.out)
            trial_report.shares(timings, {}, args.space)
        else:
            parts, extras = [], {}
            for name in args.datasets:
                got, extras[name] = measure(name, args, work)
                parts += got
            label, day = device_label(args), time.strftime("%Y-%m-%d")
            if args.out:
                timings = merge_timings(args.out, label, day, [], parts)
                print(f"wrote {args.out}")
            else:
                from ncsweep.study.timings import Timings

                timings = Timings(label, day, (), "", tuple(parts))
            if parts:
                trial_report.shares(timings, extras, args.space)
        if args.mallat:
            trial_report.mallat(args, work)
        if args.check or args.check_only:
            root = data_root_for(args.check_dataset, args, work / "synthetic")
            trial_report.check(timings, args, work, root)


if __name__ == "__main__":
    main()
