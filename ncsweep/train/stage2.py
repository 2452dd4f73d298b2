"""Stage-2 training: the MaskGIT prior on frozen stage-1 tokens (spec §2), then IS/FID/CAS (§3).

Stage 2 finds its tokenizer through ``cfg.stage1`` (a run directory or checkpoint file), never by
rebuilding a path from the config. The stage-1 model is loaded frozen and is never trained.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ncsweep.config import ConfigError, Stage2Config, from_dict
from ncsweep.models.maskgit import MaskGIT
from ncsweep.models.masking import random_mask
from ncsweep.train.base import Trainer
from ncsweep.train.common import (
    CheckpointError,
    Report,
    load_checkpoint,
    relative_ref,
    resolve_ref,
)
from ncsweep.train.stage1 import load_stage1_model
from ncsweep.train.tokens import TokenSource

# test sequences per validation forward; the masks are drawn per batch, so changing it changes
# which positions are scored (kept at its first value: comparable with earlier runs)
VAL_BATCH = 512
EVAL_SEED_OFFSET = 7919  # evaluation RNG apart from the training RNG: same samples on resume


def load_stage1_for(cfg: Stage2Config, device: torch.device):
    """The frozen stage-1 model named by ``cfg.stage1``, checked against ``cfg.dataset``."""
    if not cfg.stage1:
        raise ConfigError("stage1: a stage-1 run directory or checkpoint is required (--stage1)")
    model, s1_cfg, meta = load_stage1_model(cfg.stage1, device)
    if cfg.dataset is not None and cfg.dataset != meta["dataset"]:
        raise CheckpointError(
            f"stage-1 checkpoint {cfg.stage1} was trained on {meta['dataset']!r}, "
            f"but the stage-2 config says dataset {cfg.dataset!r}"
        )
    return model, s1_cfg, meta


@torch.no_grad()
def tokenize_all(stage1: Any, x, device: torch.device, batch: int = 512) -> torch.Tensor:
    """(N, L) series → (N, T) long tokens with the frozen tokenizer (deterministic nearest code)."""
    x = torch.as_tensor(x, dtype=torch.float32)
    return torch.cat([stage1.tokenize(c.to(device)) for c in x.split(batch)]).to(device)


class Stage2Trainer(Trainer):
    """One stage-2 run in ``out_dir`` (the protocol: ``ncsweep.train.base.Trainer``)."""

    stage = "stage2"

    def __init__(
        self,
        cfg: Stage2Config,
        out_dir: str | Path,
        device: str | None = None,
        log: Callable[[str], None] | None = None,
    ):
        from ncsweep.data import load_ucr

        super().__init__(cfg, out_dir, device)
        self.log = log
        self.stage1, self.stage1_cfg, self.meta = load_stage1_for(cfg, self.device)
        self.data = load_ucr(self.meta["dataset"], self.stage1_cfg.data.root)
        if self.data.length != self.meta["length"] or self.data.n_classes != self.meta["n_classes"]:
            raise CheckpointError(f"{cfg.stage1}: dataset shape differs from the checkpoint's")
        # nearest codes (default) or the thesis code's sampled tokens (config: tokens.source)
        self.tokens = TokenSource(self.stage1, self.data, cfg.tokens, self.device, cfg.run.seed)
        self.tok_train, self.tok_test = self.tokens.train, self.tokens.test  # (N, T) each
        self.y_train = torch.as_tensor(self.data.y_train, device=self.device)
        self.y_test = torch.as_tensor(self.data.y_test, device=self.device)
        self.model = self._build_prior().to(self.device)
        self._optimizer(math.ceil(len(self.tok_train) / cfg.optim.batch_size))

    def _build_prior(self) -> MaskGIT:
        codebook = self.stage1.vq.codebook.detach().cpu()  # (K, D)
        n_tokens = self.stage1.tokens_per_series
        return MaskGIT(self.cfg.prior, codebook, n_tokens, self.data.n_classes)

    # -- the Trainer protocol -------------------------------------------------------------
    @property
    def evaluated(self) -> bool:
        return "fid" in self.last

    def train_epoch(self) -> dict[str, float]:
        start = self._begin_epoch()
        loss, acc = self._fit_one_epoch()
        self.epoch += 1
        metrics = {"epoch": self.epoch, "lr": self.scheduler.get_last_lr()[0]}
        metrics.update({"train/prior_loss": loss, "train/token_acc": acc})
        validated = self.cfg.run.validates(self.epoch, self.cfg.optim.epochs)  # issue 15
        metrics["validated"] = float(validated)
        if validated:
            metrics.update(self.validate())
        self._end_epoch(start, metrics)
        if self.done:
            metrics.update(self.finish())
        return metrics

    def _fit_one_epoch(self) -> tuple[float, float]:
        self.model.train()
        n, bs = len(self.tok_train), self.cfg.optim.batch_size
        total_loss = total_acc = torch.zeros((), device=self.device)
        batches = torch.randperm(n, generator=self.generator).split(bs)
        for idx in batches:
            idx = idx.to(self.device)
            tokens, labels = self.tokens.batch(idx, self.generator), self.y_train[idx]  # (B, T)
            labels = self.model.drop_labels(labels, self.generator)
            mask = self._mask(len(idx), self.generator)
            loss, acc = self.model.loss(tokens, labels, mask)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.scheduler.step()
            total_loss, total_acc = total_loss + loss.detach(), total_acc + acc.detach()
        return float(total_loss) / len(batches), float(total_acc) / len(batches)

    def _mask(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        n_tokens = self.model.n_tokens
        return random_mask(batch, n_tokens, self.model.schedule, generator).to(self.device)

    @torch.inference_mode()
    def validate(self) -> dict[str, float]:
        """Masked-token loss and accuracy on the test split, same masks every epoch (eval mode)."""
        self.model.eval()
        gen = torch.Generator().manual_seed(self.cfg.run.seed + 1)
        loss_sum = hits = count = 0.0
        bs = VAL_BATCH
        for tokens, labels in zip(self.tok_test.split(bs), self.y_test.split(bs), strict=True):
            mask = self._mask(len(tokens), gen)
            logits = self.model(tokens, labels, mask)[mask]  # (M, K)
            target = tokens[mask]
            loss_sum += float(torch.nn.functional.cross_entropy(logits, target, reduction="sum"))
            hits += float((logits.argmax(-1) == target).sum())
            count += int(mask.sum())
        return {"val/prior_loss": loss_sum / count, "val/token_acc": hits / count}

    def finish(self) -> dict[str, float]:
        """The generative evaluation (spec §3), once, after the last epoch; saved with the run."""
        from ncsweep.train.evaluator import get_evaluator
        from ncsweep.train.sampling import evaluate_generation

        start = time.perf_counter()
        evaluator, info = get_evaluator(self.data, self.cfg.evaluator, self.device, self.log)
        gen = torch.Generator().manual_seed(self.cfg.run.seed + EVAL_SEED_OFFSET)
        scores = evaluate_generation(  # the test split's FID features come from the cache
            self.model, self.stage1, self.data, evaluator, self.cfg, gen, self.log,
            real_features=evaluator.test_features,
        )
        scores["evaluator_acc"] = info["test_acc"]
        scores["seconds_eval"] = time.perf_counter() - start
        self.seconds += scores["seconds_eval"]
        scores["seconds"] = self.seconds
        self.last.update(scores)
        self.save()
        self.write_metrics()
        return scores

    def figures(self, per_class: int = 5) -> dict[str, Any]:
        """Generated series per class next to real test series of that class."""
        from ncsweep import viz
        from ncsweep.train.sampling import generate

        k = self.data.n_classes
        labels = torch.arange(k).repeat_interleave(per_class)
        gen = torch.Generator().manual_seed(self.cfg.run.seed + EVAL_SEED_OFFSET + 1)
        x = generate(self.model, self.stage1, len(labels), labels.to(self.device), self.cfg, gen)
        fig = viz.samples_vs_real(
            x.numpy(), self.data.x_test, labels.numpy(), self.data.y_test, n_per_class=per_class
        )
        return {"samples_vs_real": fig}

    def arrays(self, n: int = 500) -> dict[str, np.ndarray]:
        """Up to ``n`` generated series, conditioned on the labels of the first ``n`` test series,
        next to those test series: the study's PCA and t-SNE of samples (figures 6.17, 6.21)."""
        from ncsweep.train.sampling import generate

        k = min(n, len(self.data.x_test))
        labels = torch.as_tensor(np.asarray(self.data.y_test[:k]), dtype=torch.long)
        gen = torch.Generator().manual_seed(self.cfg.run.seed + EVAL_SEED_OFFSET + 2)
        x = generate(self.model, self.stage1, k, labels.to(self.device), self.cfg, gen)  # (k, L)
        return {
            "generated": x.numpy().astype(np.float32),
            "real": np.asarray(self.data.x_test[:k], dtype=np.float32),
            "labels": labels.numpy(),
        }

    def final_metrics(self) -> dict[str, float]:
        last = self.last
        keys = ("fid", "is_mean", "is_std", "cas", "evaluator_acc", "seconds_eval")
        return {
            "val_prior_loss": last.get("val/prior_loss", math.nan),
            "val_token_acc": last.get("val/token_acc", math.nan),
            "train_prior_loss": last.get("train/prior_loss", math.nan),
            **{k: last.get(k, math.nan) for k in keys},
            "tokens_per_series": self.model.n_tokens,
            "epochs": self.epoch,
            "seconds": round(self.seconds, 3),
        }

    # -- checkpoints ------------------------------------------------------------------------
    def checkpoint_refs(self) -> dict[str, Any]:
        return {
            # the explicit reference (STYLE), relative to this run dir: storage may move (§5)
            "stage1": relative_ref(self.cfg.stage1, self.out_dir),
            "stage1_dataset": self.meta["dataset"],
            "data": dict(self.meta),
        }

    def after_training(self, report: Report | None) -> None:
        if not self.evaluated:  # finished training but killed during evaluation
            scores = self.finish()
            if report:
                report({"epoch": self.epoch, **scores})


def run_stage2(
    cfg: Stage2Config,
    out_dir: str | Path,
    report: Report | None = None,
    resume: bool = True,
    device: str | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """Train (or finish) one stage-2 run in ``out_dir`` and evaluate it; return final metrics."""
    return Stage2Trainer(cfg, out_dir, device, log).run(report, resume)


def load_stage2_model(path: str | Path, device: str | torch.device = "cpu"):
    """(prior, frozen stage-1 model, Stage2Config, data meta) from a stage-2 run dir/checkpoint.

    The stage-1 model comes from the path recorded in the checkpoint (explicit reference)."""
    payload = load_checkpoint(Path(path), expect_stage="stage2")
    cfg = from_dict(Stage2Config, payload["config"], source=str(path))
    ref = resolve_ref(payload["stage1"], Path(path) if Path(path).is_dir() else Path(path).parent)
    stage1, s1_cfg, meta = load_stage1_model(ref, device)
    if meta["dataset"] != payload["stage1_dataset"]:
        raise CheckpointError(
            f"{payload['stage1']} now holds a {meta['dataset']!r} model; "
            f"{path} was trained on {payload['stage1_dataset']!r}"
        )
    codebook = stage1.vq.codebook.detach().cpu()
    prior = MaskGIT(cfg.prior, codebook, stage1.tokens_per_series, meta["n_classes"])
    prior.load_state_dict(payload["model"])
    meta = {**meta, "stage1": str(ref), "data_root": s1_cfg.data.root}
    return prior.to(device).eval(), stage1, cfg, meta
