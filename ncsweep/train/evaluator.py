"""The FCN evaluator (spec §3): trained once per (dataset, evaluator config, seed), cached on disk.

Cache entry ``<cache_dir>/<dataset>-<key>.pt`` holds the weights, the test accuracy and the
config. Two processes asking for the same entry at once serialise on an ``fcntl`` lock file: the
first trains and writes atomically (temp file + rename), the second waits and then reuses it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ncsweep.config.base import to_dict
from ncsweep.config.stage2 import EvaluatorConfig
from ncsweep.models.fcn import FCN
from ncsweep.train.common import atomic_write_bytes, make_optimizer
from ncsweep.train.common import shuffled_batches as _batches

CACHE_VERSION = 1


def fit_fcn(
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    n_classes: int,
    cfg: EvaluatorConfig,
    epochs: int | None = None,
    device: torch.device | str = "cpu",
    progress: Callable[[int, float], None] | None = None,
) -> FCN:
    """Train a fresh FCN on (N, L) series with AdamW + per-step cosine (spec §3); eval mode out."""
    epochs = cfg.epochs if epochs is None else epochs
    torch.manual_seed(cfg.seed)  # weight init
    gen = torch.Generator().manual_seed(cfg.seed)
    x = torch.as_tensor(x, dtype=torch.float32).to(device)
    y = torch.as_tensor(y, dtype=torch.long).to(device)
    model = FCN(n_classes).to(device)
    steps = epochs * len(_batches(len(x), cfg.batch_size, torch.Generator()))
    opt, sched = make_optimizer(model.parameters(), cfg.lr, cfg.weight_decay, steps)
    model.train()
    for epoch in range(epochs):
        for idx in _batches(len(x), cfg.batch_size, gen):
            idx = idx.to(device)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        if progress is not None:
            progress(epoch + 1, float(loss.detach()))
    return model.eval()


@torch.no_grad()
def predict(model: FCN, x, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(N, L) series → (features (N, 128), class probabilities (N, K)) as float64 numpy."""
    device = next(model.parameters()).device
    model.eval()
    feats, probs = [], []
    for chunk in torch.as_tensor(x, dtype=torch.float32).split(batch_size):
        f = model.features(chunk.to(device))
        feats.append(f.double().cpu())
        probs.append(model.fc(f).double().softmax(-1).cpu())
    return torch.cat(feats).numpy(), torch.cat(probs).numpy()


def accuracy(model: FCN, x, y) -> float:
    """Plain accuracy over every sample (spec fix: not an EMA of batch accuracies)."""
    _, probs = predict(model, x)
    return float((probs.argmax(1) == np.asarray(y)).mean())


def cache_dir(cfg: EvaluatorConfig) -> Path:
    if cfg.cache_dir:
        return Path(cfg.cache_dir).expanduser()
    if os.environ.get("NCSWEEP_CACHE"):
        return Path(os.environ["NCSWEEP_CACHE"]).expanduser() / "evaluators"
    return Path.home() / ".cache" / "ncsweep" / "evaluators"


def _data_digest(ds: Any) -> str:
    h = hashlib.sha256()
    for arr in (ds.x_train, ds.y_train, ds.x_test, ds.y_test):  # test_acc is cached too
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:16]


def cache_key(ds: Any, cfg: EvaluatorConfig) -> str:
    """Key = dataset (name + digest of its arrays) + evaluator config (seed included)."""
    recipe = {k: v for k, v in to_dict(cfg).items() if k != "cache_dir"}
    blob = json.dumps({"v": CACHE_VERSION, "data": _data_digest(ds), "cfg": recipe}, sort_keys=True)
    return f"{ds.name}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


def _read_entry(path: Path) -> dict[str, Any] | None:
    """A usable cache entry or None (missing or unreadable: it will be retrained and replaced)."""
    if not path.is_file():
        return None
    try:
        entry = torch.load(path, map_location="cpu", weights_only=True)  # plain data (14§7)
        return entry if isinstance(entry, dict) and "state_dict" in entry else None
    except Exception:
        return None


def _train_entry(ds: Any, cfg: EvaluatorConfig, device, log) -> dict[str, Any]:
    start = time.perf_counter()
    every = max(1, cfg.epochs // 10)

    def progress(epoch: int, loss: float) -> None:
        if log is not None and (epoch % every == 0 or epoch == cfg.epochs):
            log(f"evaluator {ds.name}: epoch {epoch}/{cfg.epochs} loss {loss:.4f}")

    model = fit_fcn(ds.x_train, ds.y_train, ds.n_classes, cfg, device=device, progress=progress)
    feats, probs = predict(model, ds.x_test)  # once: every stage-2 trial's FID needs them
    return {
        "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
        "test_acc": float((probs.argmax(1) == np.asarray(ds.y_test)).mean()),
        # the real side of FID, as a tensor (the entry loads with weights_only=True)
        "test_features": torch.from_numpy(feats),
        "config": to_dict(cfg),
        "dataset": ds.name,
        "n_classes": ds.n_classes,
        "seconds": time.perf_counter() - start,
        "version": CACHE_VERSION,
    }


def get_evaluator(
    ds: Any,
    cfg: EvaluatorConfig,
    device: torch.device | str = "cpu",
    log: Callable[[str], None] | None = None,
) -> tuple[FCN, dict[str, Any]]:
    """The cached FCN for ``ds`` (a ``UCRDataset``), training it first if no process has.

    Returns (model in eval mode on ``device``, info) with info keys ``test_acc``, ``path``,
    ``trained`` (True when this call trained it), ``seconds`` (plain JSON values). The model
    carries ``test_features`` (N_test, 128) float64: the real side of FID, computed once when the
    entry was trained.
    """
    folder = cache_dir(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    key = cache_key(ds, cfg)
    path = folder / f"{key}.pt"
    with open(folder / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, even on a crash
        entry, trained = _read_entry(path), False
        if entry is None:
            entry, trained = _train_entry(ds, cfg, device, log), True
            atomic_write_bytes(path, lambda fh: torch.save(entry, fh))
    model = FCN(entry["n_classes"])
    model.load_state_dict(entry["state_dict"])
    info = {"test_acc": entry["test_acc"], "path": str(path), "trained": trained}
    info["seconds"] = entry["seconds"]
    model = model.to(device).eval()
    feats = entry.get("test_features")  # entries written before issue 15 lack them
    model.test_features = feats.numpy() if feats is not None else predict(model, ds.x_test)[0]
    return model, info
