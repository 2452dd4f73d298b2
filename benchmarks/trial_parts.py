"""Measuring the parts of a whole trial (issue 15) with the study's own trainers; used by
``benchmarks/trial_cost.py``. Each part is timed on a few steps or a slice of the test split and
scaled to the whole (every part is linear in steps or series), after one untimed warm-up.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ncsweep.config import Stage1Config, Stage2Config, deep_merge, from_dict
from ncsweep.study.cost import Part

SSL_AUG = {"none": None, "barlowtwins": "warp", "vibcreg": "warp"}  # one augmentation per kind


def now() -> float:
    """Wall time on a GPU; on a CPU this process's CPU time: at one torch thread that is what an
    unshared core takes, and this machine is shared (wall time there measures the neighbours)."""
    return time.perf_counter() if torch.cuda.is_available() else time.process_time()


def clock(fn, repeat: int = 1, warm: bool = True) -> float:
    """Seconds per call of ``fn`` after one warm-up call (CUDA synchronised); ``warm=False``
    for what has no first-call cost (file writes, scikit-learn)."""
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    if warm:
        fn()
    sync()
    start = now()
    for _ in range(repeat):
        fn()
    sync()
    return (now() - start) / repeat


def write_synthetic(name: str, root: Path, seed: int = 0) -> None:
    """A UCR-format dataset of the registry's shapes (random walks, every class present), for a
    study dataset not on hand: its timings depend on shapes only."""
    from ncsweep.data import REGISTRY

    info, rng = REGISTRY[name], np.random.default_rng(seed)
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("TRAIN", info.n_train), ("TEST", info.n_test)):
        x = np.cumsum(rng.standard_normal((n, info.length)), axis=1).astype(np.float32)
        y = np.arange(n) % info.n_classes + 1
        np.savetxt(
            folder / f"{name}_{split}.tsv", np.column_stack([y, x]), fmt="%.4g", delimiter="\t"
        )


def stage1_config(dataset: str, root: str, ssl: str, device: str, threads: int, **over):
    aug = SSL_AUG[ssl]
    base = {
        "data": {"dataset": dataset, "root": root},
        "ssl": {"method": ssl, "augmentation": aug},
        "run": {"device": device, "num_threads": threads, "checkpoint_every": 0},
    }
    return from_dict(Stage1Config, deep_merge(base, over), source="trial_cost")


def train_steps_seconds(trainer, steps: int) -> float:
    """Seconds of one whole stage-1 epoch: the first ``steps`` of its real batches, scaled."""
    from ncsweep.train.common import shuffled_batches

    batches = shuffled_batches(
        len(trainer.x_train), trainer.cfg.optim.batch_size, trainer.generator
    )
    some = batches[: max(1, steps)]

    def run() -> None:
        trainer.model.train()
        for idx in some:
            trainer.train_step(idx)

    return clock(run) * len(batches) / len(some)


def on_slice(trainer, fn, n_max: int) -> float:
    """Seconds of ``fn()`` over the whole test split, timed on its first ``n_max`` series."""
    full = trainer.x_test
    n = min(n_max, len(full))
    trainer.x_test = full[:n]
    try:
        return clock(fn) * len(full) / n
    finally:
        trainer.x_test = full


def stage1_parts(dataset: str, root: str, args, out: Path) -> tuple[list[Part], Path]:
    """Stage-1 parts for every SSL kind; validation and probes once (they do not use the
    projector, so they cost the same for every kind). Returns the parts and a checkpoint dir."""
    from ncsweep.train.stage1 import Stage1Trainer

    parts, shared = [], {}
    Stage1Trainer(stage1_config(dataset, root, "none", args.device, args.threads), out / "warm")
    for ssl in SSL_AUG:
        cfg = stage1_config(dataset, root, ssl, args.device, args.threads)
        start = now()
        trainer = Stage1Trainer(cfg, out / f"s1-{ssl}")
        setup_s = now() - start  # data, model, optimizer: once per trial
        epoch_s = train_steps_seconds(trainer, args.steps)
        if ssl == "none":
            shared["val_s"] = on_slice(trainer, trainer.validate, args.val_series)
            shared["probe_s"] = probe_seconds(trainer)
            ckpt = trainer.out_dir
        save_s = clock(trainer.save, warm=False)  # SSL: the projector and its Adam state
        part = Part(dataset, "stage1", ssl, epoch_s, score_s=setup_s, save_s=save_s, **shared)
        parts.append(part)
    return parts, ckpt


def probe_seconds(trainer) -> float:
    """One probe pass: train features + KNN/SVM fit + prediction of the whole test split. The
    test features are the validated slice's, repeated to the split's size (prediction cost
    depends on the count, not the values): no full validation pass just to time a probe."""
    from ncsweep.metrics import probe_accuracy

    rng = np.random.default_rng(0)  # warm-up: the first call imports scikit-learn (seconds)
    probe_accuracy(rng.random((8, 4)), np.arange(8) % 2, rng.random((8, 4)), np.arange(8) % 2)
    feats = trainer._test_features  # (n_slice, 64), left by the last validate()
    trainer._test_features = np.resize(feats, (len(trainer.x_test), feats.shape[1]))
    return clock(trainer.probe, warm=False)


def stage2_config(stage1: Path, device: str, threads: int, cache: Path, **over) -> Stage2Config:
    base = {
        "stage1": str(stage1),
        "evaluator": {"cache_dir": str(cache)},
        "run": {"device": device, "num_threads": threads, "checkpoint_every": 0},
    }
    return from_dict(Stage2Config, deep_merge(base, over), source="trial_cost")


def fcn_epoch_seconds(n: int, length: int, n_classes: int, steps: int, cfg, device) -> float:
    """Seconds of one FCN epoch over ``n`` series: ``steps`` batches timed, scaled."""
    from ncsweep.train.evaluator import fit_fcn

    per_epoch = math.ceil(n / cfg.batch_size)
    steps = max(1, min(steps, per_epoch))
    m = min(n, steps * cfg.batch_size)
    x, y = torch.randn(m, length), torch.arange(m) % n_classes
    one = replace(cfg, epochs=1)
    return clock(lambda: fit_fcn(x, y, n_classes, one, device=device)) / steps * per_epoch


def stage2_parts(stage1: Path, args, out: Path, cache: Path) -> tuple[list[Part], float]:
    """Stage-2 parts (prior epoch, validation, sampling + featurising, CAS FCN epoch, scoring)
    and the evaluator's (FCN epoch on the train split, its test-split pass). Also returns the
    seconds of one FCN pass over the test split: what each trial paid before the evaluator
    cache held the real features."""
    from ncsweep.metrics.generative import cas_labels, fid_is
    from ncsweep.train.evaluator import fit_fcn, get_evaluator, predict
    from ncsweep.train.sampling import generate
    from ncsweep.train.stage2 import Stage2Trainer

    cfg = stage2_config(stage1, args.device, args.threads, cache)
    start = now()
    trainer = Stage2Trainer(cfg, out / "s2")
    setup_s = now() - start  # tokenising both splits: once per trial
    ds, dev = trainer.data, trainer.device
    steps = max(1, min(args.steps, trainer.steps_per_epoch))
    epoch_s = clock(lambda: _prior_steps(trainer, steps)) / steps * trainer.steps_per_epoch
    val_s = _stage2_val_seconds(trainer, args.val_series)
    one = replace(cfg.evaluator, epochs=1)
    evaluator = fit_fcn(ds.x_train[:8], ds.y_train[:8], ds.n_classes, one, device=dev)
    n = min(args.sample_series, len(ds.x_test))
    gen = torch.Generator().manual_seed(0)
    labels = (torch.arange(n) % ds.n_classes).to(dev)

    def sample() -> None:
        predict(evaluator, generate(trainer.model, trainer.stage1, n, labels, cfg, gen))

    sample_s = clock(sample) * 1000 / n
    n_cas = len(cas_labels(ds.y_train, ds.n_classes, cfg.eval.cas_min_samples))
    cas_epoch_s = fcn_epoch_seconds(n_cas, ds.length, ds.n_classes, args.steps, cfg.evaluator, dev)
    k = min(args.val_series, len(ds.x_test))
    test_s = clock(lambda: predict(evaluator, ds.x_test[:k])) * len(ds.x_test) / k
    feats, probs = predict(evaluator, ds.x_test[:k])
    score_s = clock(lambda: fid_is(feats, feats[::-1].copy(), probs, cfg.eval.is_splits))
    s2 = Part(
        ds.name, "stage2", "-", epoch_s, val_s=val_s, sample_s_per_kseries=sample_s,
        cas_epoch_s=cas_epoch_s, score_s=setup_s + score_s + test_s,  # + CAS test accuracy
        save_s=clock(trainer.save),
    )  # fmt: skip
    ev_epoch = fcn_epoch_seconds(len(ds.x_train), ds.length, ds.n_classes, args.steps, one, dev)
    small = replace(ds, x_train=ds.x_train[:16], y_train=ds.y_train[:16], x_test=ds.x_test[:16],
                    y_test=ds.y_test[:16])  # fmt: skip
    caches = iter(range(2))  # a fresh cache per call: the fixed cost of a whole evaluator trial
    fixed_s = clock(
        lambda: get_evaluator(small, replace(one, cache_dir=str(out / f"ev{next(caches)}")), dev)
    )
    return [s2, Part(ds.name, "evaluator", "-", ev_epoch, score_s=test_s + fixed_s)], test_s


def _stage2_val_seconds(trainer, n_max: int) -> float:
    full = trainer.tok_test, trainer.y_test
    n = min(n_max, len(full[0]))
    trainer.tok_test, trainer.y_test = full[0][:n], full[1][:n]
    try:
        return clock(trainer.validate) * len(full[0]) / n
    finally:
        trainer.tok_test, trainer.y_test = full


def _prior_steps(trainer, steps: int) -> None:
    """The first ``steps`` batches of the stage-2 trainer's own training step."""
    model, n = trainer.model, len(trainer.tok_train)
    model.train()
    for idx in torch.randperm(n).split(trainer.cfg.optim.batch_size)[:steps]:
        idx = idx.to(trainer.device)
        tokens, labels = trainer.tokens.batch(idx, trainer.generator), trainer.y_train[idx]
        labels = model.drop_labels(labels, trainer.generator)
        loss, _ = model.loss(tokens, labels, trainer._mask(len(idx), trainer.generator))
        trainer.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        trainer.optimizer.step()
