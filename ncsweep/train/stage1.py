"""Stage-1 training: the VQ-VAE tokenizer (spec §1) on one device, no Ray, no MLflow.

``Stage1Trainer`` is the step-wise object Ray trainables drive; ``run_stage1`` is the whole loop
for the CLI and for Python shells. Metrics leave through the ``report`` callable only.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ncsweep.config import Stage1Config, from_dict
from ncsweep.train.base import Trainer
from ncsweep.train.common import CheckpointError, Report, inference_batch, load_checkpoint
from ncsweep.train.common import shuffled_batches as _batches


class Stage1Trainer(Trainer):
    """One stage-1 run in ``out_dir``; resumes from ``out_dir/checkpoint.pt`` when present."""

    stage = "stage1"

    def __init__(self, cfg: Stage1Config, out_dir: str | Path, device: str | None = None):
        from ncsweep.augment import build_augmentation
        from ncsweep.data import load_ucr
        from ncsweep.models.stage1 import Stage1Model

        super().__init__(cfg, out_dir, device)
        self.data = load_ucr(cfg.data.dataset, cfg.data.root)
        self.model = Stage1Model(cfg, self.data.length).to(self.device)
        self.augment = (
            build_augmentation(cfg.ssl.augmentation, cfg.augment)
            if cfg.ssl.method != "none"
            else None
        )
        as_tensor = lambda a: torch.as_tensor(a, device=self.device)  # noqa: E731
        self.x_train, self.x_test = as_tensor(self.data.x_train), as_tensor(self.data.x_test)
        n = len(self.data.x_train)
        self._optimizer(len(_batches(n, cfg.optim.batch_size, torch.Generator())))
        self._test_features: np.ndarray | None = None

    # -- the Trainer protocol -------------------------------------------------------------
    def train_epoch(self) -> dict[str, float]:
        start = self._begin_epoch()
        sums = self._fit_one_epoch()
        self.epoch += 1
        metrics: dict[str, float] = {"epoch": self.epoch, "lr": self.scheduler.get_last_lr()[0]}
        metrics.update({f"train/{k}": v for k, v in sums.items()})
        self._test_features = None
        run, epochs = self.cfg.run, self.cfg.optim.epochs
        # validation only where it is logged or a probe needs it (run.val_every, issue 15)
        validated = run.validates(self.epoch, epochs)
        metrics["validated"] = float(validated)  # the history's mark of a validation epoch
        if validated:
            metrics.update(self.validate())
        if run.probes(self.epoch, epochs):
            metrics.update(self.probe())
        self._end_epoch(start, metrics)
        if self.done:
            self.write_metrics()
        return metrics

    def train_step(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        """One optimiser step on the training series ``idx`` (the schedule is stepped by the
        caller); returns the loss terms. benchmarks/trial_parts.py times exactly this."""
        x = self.x_train[idx.to(self.device)]  # (B, L)
        x_aug = self.augment(x, self.generator) if self.augment else None
        loss, terms = self.model(x, x_aug)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return terms

    def _fit_one_epoch(self) -> dict[str, float]:
        self.model.train()
        totals: dict[str, torch.Tensor] = {}
        batches = _batches(len(self.x_train), self.cfg.optim.batch_size, self.generator)
        for idx in batches:
            terms = self.train_step(idx)
            self.scheduler.step()
            for k, v in terms.items():  # summed on device: one host sync per epoch, not per step
                totals[k] = totals.get(k, 0.0) + v.detach().float()
        return {k: float(v) / len(batches) for k, v in totals.items()}

    @property
    def eval_batch(self) -> int:
        """Series per inference pass (``common.inference_batch``)."""
        return inference_batch(self.device, self.data.length)

    def _eval_batches(self, x: torch.Tensor, fn) -> list[Any]:
        with torch.inference_mode():
            return [fn(chunk) for chunk in x.split(self.eval_batch)]

    def validate(self) -> dict[str, float]:
        """Reconstruction error over the WHOLE test split and codebook usage (eval mode).

        Keeps the test features of this pass so a probe in the same epoch does not re-encode.
        """
        from ncsweep.metrics import codebook_usage

        parts = self._eval_batches(self.x_test, self.model.evaluate)
        cat = lambda k: torch.cat([p[k] for p in parts])  # noqa: E731
        x_hat, u, u_hat = cat("x_hat"), cat("u"), cat("u_hat")
        recon = torch.mean((self.x_test - x_hat) ** 2) + torch.mean((u - u_hat) ** 2)
        self._test_features = cat("features").cpu().numpy()
        usage = codebook_usage(cat("tokens").cpu().numpy(), self.cfg.vq.codebook_size)
        return {"val/recon": float(recon), **usage}

    def probe(self) -> dict[str, float]:
        """KNN/SVM accuracy on pooled z_q features, eval mode (spec §1 fix)."""
        from ncsweep.metrics import probe_accuracy

        f_train = torch.cat(self._eval_batches(self.x_train, self.model.features)).cpu().numpy()
        f_test = self._test_features
        if f_test is None:
            f_test = torch.cat(self._eval_batches(self.x_test, self.model.features)).cpu().numpy()
        data, probe = self.data, self.cfg.probe
        return probe_accuracy(
            f_train, data.y_train, f_test, data.y_test, probe.knn_k, probe.svm_c, probe.svm_max_iter
        )

    def final_metrics(self) -> dict[str, float]:
        last = self.last
        return {
            "val_recon": last.get("val/recon", math.nan),
            "knn_acc": last.get("knn_acc", math.nan),
            "svm_acc": last.get("svm_acc", math.nan),
            "perplexity": last.get("perplexity", math.nan),
            "codebook_usage": last.get("codebook_usage", math.nan),
            "tokens_per_series": self.model.tokens_per_series,
            # model size for figure 6.25: every parameter, SSL projector included
            "n_params": sum(p.numel() for p in self.model.parameters()),
            "epochs": self.epoch,
            "seconds": round(self.seconds, 3),
            **{k.replace("/", "_"): v for k, v in last.items() if k.startswith("train/")},
        }

    def figures(self, n_tsne: int = 1000) -> dict[str, Any]:
        """Per-trial figures (made outside ``forward``): reconstructions and a latent t-SNE."""
        from ncsweep import viz

        x = self.x_test[:6]
        x_hat = self.model.reconstruct(x)[0]
        keep = slice(0, min(n_tsne, len(self.x_test)))  # t-SNE cost grows with N²
        feats = torch.cat(self._eval_batches(self.x_test[keep], self.model.features))
        return {
            "reconstructions": viz.reconstructions(x.cpu(), x_hat.cpu()),
            "latent_tsne": viz.latent_tsne(
                feats.cpu().numpy(), self.data.y_test[keep], seed=self.cfg.run.seed
            ),
        }

    def arrays(self, n: int = 1000) -> dict[str, np.ndarray]:
        """Pooled z_q features of the first ``n`` test series and their labels, for the study's
        latent PCA (figure 6.16); small enough to log with every trial."""
        keep = slice(0, min(n, len(self.x_test)))
        feats = torch.cat(self._eval_batches(self.x_test[keep], self.model.features))  # (n, D)
        return {
            "latents": feats.cpu().numpy().astype(np.float32),
            "labels": np.asarray(self.data.y_test[keep]),
        }

    # -- checkpoints ------------------------------------------------------------------------
    def checkpoint_meta(self) -> dict[str, Any]:
        return {"data": self.data_meta()}

    def data_meta(self) -> dict[str, Any]:
        d = self.data
        return {
            "dataset": d.name,
            "length": d.length,
            "n_classes": d.n_classes,
            "mean": float(d.mean),
            "std": float(d.std),
        }


def run_stage1(
    cfg: Stage1Config,
    out_dir: str | Path,
    report: Report | None = None,
    resume: bool = True,
    device: str | None = None,
) -> dict[str, float]:
    """Train (or finish) one stage-1 run in ``out_dir``; return the final metrics."""
    return Stage1Trainer(cfg, out_dir, device).run(report, resume)


def load_stage1_model(path: str | Path, device: str | torch.device = "cpu"):
    """(frozen eval-mode Stage1Model, Stage1Config, data meta) from a run dir or checkpoint file."""
    from ncsweep.models.stage1 import Stage1Model

    payload = load_checkpoint(Path(path), expect_stage="stage1")
    cfg = from_dict(Stage1Config, payload["config"], source=str(path))
    meta = payload["data"]
    model = Stage1Model(cfg, meta["length"])
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as exc:  # e.g. a checkpoint of the decoder before issue 11 (docs/method.md)
        raise CheckpointError(
            f"{path}: its weights do not fit this version's stage-1 model (retrain it): "
            + str(exc).splitlines()[0]
        ) from exc
    model.to(device).eval().requires_grad_(False)
    return model, cfg, meta
