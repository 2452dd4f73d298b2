"""What ``benchmarks/trial_cost.py`` prints: the evaluation share per dataset before and after
issue 15, the study's predicted hours, the Mallat 100-epoch target and the 3-trial check."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import torch

from ncsweep.config import to_dict
from ncsweep.study.cost import find_part, trial_parts

CHECK_TOLERANCE = 0.20


def _before(stage: str, config: dict) -> dict:
    """The trial's config as the code before issue 15 ran it: validation every epoch."""
    old = copy.deepcopy(config)
    if "run" in old:
        old["run"]["val_every"] = 1
    return old


def _seconds(part, t, info, before: bool, extra: float) -> dict[str, float]:
    config = _before(t.stage, t.config) if before else t.config
    got = trial_parts(part, t.stage, config, t.epochs, info.n_train, info.n_test)
    if before and extra:
        got["eval"] += extra  # the real test features FID needs, once per stage-2 trial
    return got


def _share(p: dict[str, float]) -> str:
    total = p["train"] + p["eval"]
    return f"{p['eval'] / total:>4.0%}" if total else "   -"


def shares(timings, extras: dict, space_path: str) -> None:
    """Per dataset: evaluation's share of a stage-1 (none, vibcreg) and a stage-2 trial before
    and after; then the study's hours before and after, per stage, from these parts."""
    from ncsweep.data import REGISTRY
    from ncsweep.study import load_study

    _, trials = load_study(space_path)
    print("\nevaluation share of one trial (validation, probes, sampling, CAS, scoring), 1000 ep")
    print(f"  {'dataset':<24} {'s1 none':>13} {'s1 vibcreg':>13} {'stage 2':>13}   data")
    hours = {True: {}, False: {}}
    for t in trials:
        info, ds = REGISTRY[t.labels["dataset"]], t.labels["dataset"]
        kind = STAGE_KIND(t)
        part = find_part(timings.parts, ds, t.stage, kind)
        if part is None:
            continue
        extra = _test_pass(timings, extras, ds) if t.stage == "stage2" else 0.0
        for before in (True, False):
            p = _seconds(part, t, info, before, extra)
            gpu = t.resources.get("gpu", 1) or 1
            h = hours[before].setdefault(t.stage, 0.0)
            hours[before][t.stage] = h + sum(p.values()) / 3600 * gpu
    for ds in dict.fromkeys(t.labels["dataset"] for t in trials):
        cells = []
        for stage, kind in (("stage1", "none"), ("stage1", "vibcreg"), ("stage2", "-")):
            t = next((t for t in trials if _is(t, ds, stage, kind)), None)
            part = find_part(timings.parts, ds, stage, kind) if t else None
            if part is None:
                cells.append(f"{'-':>13}")
                continue
            extra = _test_pass(timings, extras, ds) if stage == "stage2" else 0.0
            info = REGISTRY[ds]
            b, a = (_share(_seconds(part, t, info, x, extra)) for x in (True, False))
            cells.append(f"{b:>6} → {a:>4}")
        data = "synthetic" if extras.get(ds, {}).get("synthetic") else "real"
        print(f"  {ds:<24} {' '.join(cells)}   {data if ds in extras else ''}")
    for before in (True, False):
        h = hours[before]
        label = "before (val every epoch)" if before else "after  (val on probe epochs)"
        parts = ", ".join(f"{s} {v:.0f}" for s, v in h.items())
        print(f"study hours {label}: {parts}; total {sum(h.values()):.0f} ({timings.device})")


def _test_pass(timings, extras: dict, ds: str) -> float:
    """Seconds of the FCN pass over the test split that each stage-2 trial made before the
    evaluator cache held its result (measured, else the evaluator's once-per-trial part)."""
    if "test_features_s" in extras.get(ds, {}):
        return extras[ds]["test_features_s"]
    part = find_part(timings.parts, ds, "evaluator", "-")
    return part.score_s if part else 0.0


def STAGE_KIND(t) -> str:  # noqa: N802 - the stage registry's ssl kind of a trial
    from ncsweep.study.timings import ssl_kind

    return ssl_kind(t.stage, t.labels.get("ssl"))


def _is(t, ds: str, stage: str, kind: str) -> bool:
    return t.labels["dataset"] == ds and t.stage == stage and STAGE_KIND(t) == kind


def _old_validate(trainer) -> None:
    """Validation as before issue 15: no_grad (not inference mode), batches of 256."""
    with torch.no_grad():
        parts = [trainer.model.evaluate(c) for c in trainer.x_test.split(256)]
    x_hat = torch.cat([p["x_hat"] for p in parts])
    float(torch.mean((trainer.x_test - x_hat) ** 2))


def mallat(args, work: Path) -> None:
    """100 more stage-1 epochs at the study defaults (validation and probe at epochs 50, 100
    after; validation every epoch before), whole test split vs a 16-series one."""
    from trial_parts import clock, on_slice, stage1_config, train_steps_seconds

    from ncsweep.train.stage1 import Stage1Trainer

    print("\nMallat, 100 more stage-1 epochs (parts measured, epochs extrapolated):")
    for ssl in ("none", "vibcreg"):
        cfg = stage1_config("Mallat", args.data_root, ssl, args.device, args.threads)
        tr = Stage1Trainer(cfg, work / f"mallat-{ssl}")
        e = train_steps_seconds(tr, args.steps)
        v_old = on_slice(tr, lambda t=tr: _old_validate(t), args.val_series)
        v_new = on_slice(tr, tr.validate, args.val_series)
        tr.validate()
        p_full = clock(tr.probe)
        full_x, full_data = tr.x_test, tr.data
        tr.x_test, tr.data = full_x[:16], replace(full_data, x_test=full_data.x_test[:16],
                                                  y_test=full_data.y_test[:16])  # fmt: skip
        v16_old, v16_new = clock(lambda t=tr: _old_validate(t)), clock(tr.validate)
        p16 = clock(tr.probe)
        tr.x_test, tr.data = full_x, full_data
        n_val, n_probe = tr.cfg.run.validations(1000)  # 20, 20 over 1000: 2 and 2 per 100
        k_val, k_probe = n_val / 10, n_probe / 10
        before = (100 * e + 100 * v_old + 2 * p_full) / (100 * e + 100 * v16_old + 2 * p16)
        after = (100 * e + k_val * v_new + k_probe * p_full) / (
            100 * e + k_val * v16_new + k_probe * p16
        )
        print(
            f"  {ssl:<8} epoch {e:.2f} s, validation {v_old:.2f} s before / {v_new:.2f} s after,"
            f" probe {p_full:.2f} s (16 series: {v16_new:.3f} s, {p16:.3f} s)\n"
            f"           100 epochs, whole test split / 16 series: before {before:.2f}x, "
            f"after {after:.2f}x (target <= 1.4x)"
        )


def check(timings, args, work: Path, root: str) -> None:
    """Three whole trials end to end on ``args.check_dataset`` vs what the model predicts."""
    from trial_parts import now, stage1_config, stage2_config

    from ncsweep.config import EvaluatorConfig
    from ncsweep.data import load_ucr
    from ncsweep.train.evaluator import get_evaluator
    from ncsweep.train.stage1 import Stage1Trainer
    from ncsweep.train.stage2 import Stage2Trainer

    name, ep = args.check_dataset, args.check_epochs
    ds = load_ucr(name, root)
    torch.set_num_threads(args.threads)
    s1 = stage1_config(name, root, "vibcreg", args.device, args.threads,
                       optim={"epochs": ep}, run={"val_every": 2, "eval_every": ep})  # fmt: skip
    s1_dir = work / "check-s1"
    rows = [("stage1 vibcreg", "stage1", "vibcreg", to_dict(s1), ep)]
    start = now()
    Stage1Trainer(s1, s1_dir).run()
    measured = [now() - start]
    ev = EvaluatorConfig(epochs=ep, cache_dir=str(work / "check-evaluators"))
    start = now()
    get_evaluator(ds, ev, args.device)
    measured.append(now() - start)
    rows.append(("evaluator", "evaluator", "-", {"evaluator": to_dict(ev)}, ep))
    s2 = stage2_config(s1_dir, args.device, args.threads, work / "check-evaluators",
                       optim={"epochs": ep}, evaluator={"epochs": ep},
                       eval={"cas_epochs": ep}, run={"val_every": 2})  # fmt: skip
    start = now()
    Stage2Trainer(s2, work / "check-s2").run()
    measured.append(now() - start)
    rows.append(("stage2 + scoring", "stage2", "-", to_dict(s2), ep))
    print(f"\nmodel vs whole trials on {name} ({ep} epochs each, threads={args.threads}):")
    worst = 0.0
    for (label, stage, kind, config, epochs), got in zip(rows, measured, strict=True):
        part = find_part(timings.parts, name, stage, kind)
        if part is None:
            print(f"  {label:<18} no measured parts for {name}: run trial_cost.py on it first")
            continue
        pred = sum(
            trial_parts(part, stage, config, epochs, len(ds.x_train), len(ds.x_test)).values()
        )
        err = pred / got - 1
        worst = max(worst, abs(err))
        print(f"  {label:<18} predicted {pred:7.2f} s  measured {got:7.2f} s  ({err:+.0%})")
    verdict = "PASS" if worst <= CHECK_TOLERANCE else "FAIL"
    print(f"  worst error {worst:.0%} (target within {CHECK_TOLERANCE:.0%}): {verdict}")
