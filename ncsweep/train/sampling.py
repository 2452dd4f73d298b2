"""Sampling series from a trained prior and scoring them with IS, FID and CAS (spec §2-§3)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ncsweep.config.stage2 import Stage2Config
from ncsweep.metrics.generative import cas_labels, fid_is
from ncsweep.models.maskgit import MaskGIT
from ncsweep.train.common import inference_batch
from ncsweep.train.evaluator import accuracy, fit_fcn, predict


@torch.no_grad()
def generate(
    prior: MaskGIT,
    stage1: Any,
    n: int,
    labels: torch.Tensor | None,
    cfg: Stage2Config,
    generator: torch.Generator,
) -> torch.Tensor:
    """n series (n, L), normalised scale: iterative decoding then the frozen stage-1 decoder."""
    tokens = prior.sample(n, labels, cfg.sampling, generator)  # (n, N)
    device = prior.pos_emb.device
    stage1.eval()
    per_pass = inference_batch(device, stage1.length)  # not the noise block: any size, same series
    out = [stage1.decode_tokens(t.to(device)).cpu() for t in tokens.split(per_pass)]
    return torch.cat(out) if out else torch.empty(0)


def evaluate_generation(
    prior: MaskGIT,
    stage1: Any,
    ds: Any,
    evaluator: torch.nn.Module,
    cfg: Stage2Config,
    generator: torch.Generator,
    log: Callable[[str], None] | None = None,
    real_features: np.ndarray | None = None,
) -> dict[str, float]:
    """FID + IS on unconditional samples (as many as the test split), CAS on class-conditional
    samples with train proportions, scored by plain accuracy on the full real test split.

    ``real_features``: the evaluator's features of the test split when its cache holds them
    (``get_evaluator``'s info), so no trial recomputes them."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    n_fid = cfg.eval.n_fid or len(ds.x_test)
    fake = generate(prior, stage1, n_fid, None, cfg, generator)
    timings["seconds_sample_fid"] = time.perf_counter() - start
    real_f = predict(evaluator, ds.x_test)[0] if real_features is None else real_features
    fake_f, fake_p = predict(evaluator, fake)
    scores = fid_is(real_f, fake_f, fake_p, cfg.eval.is_splits)
    timings["seconds_fid_is"] = time.perf_counter() - start
    scores["cas"] = cas_score(prior, stage1, ds, cfg, generator, log, timings)
    timings["seconds_cas"] = time.perf_counter() - start - timings["seconds_fid_is"]
    return {**scores, **timings}


def cas_score(prior, stage1, ds, cfg: Stage2Config, generator, log=None, timings=None) -> float:
    """Train a fresh FCN on synthetic series only, test it on every real test series.

    The reported CAS is that one plain accuracy at the end: the classifier is never validated
    while it trains (spec §3 fix), so its 1000 epochs are training steps only."""
    start = time.perf_counter()
    y_syn = torch.as_tensor(cas_labels(ds.y_train, ds.n_classes, cfg.eval.cas_min_samples))
    x_syn = generate(prior, stage1, len(y_syn), y_syn, cfg, generator)
    if timings is not None:
        timings["seconds_sample_cas"] = time.perf_counter() - start
    if log is not None:
        log(f"CAS: training an FCN on {len(y_syn)} synthetic series, {cfg.eval.cas_epochs} epochs")
    device = prior.pos_emb.device
    clf = fit_fcn(
        x_syn, y_syn, ds.n_classes, cfg.evaluator, epochs=cfg.eval.cas_epochs, device=device
    )
    return accuracy(clf, ds.x_test, np.asarray(ds.y_test))
