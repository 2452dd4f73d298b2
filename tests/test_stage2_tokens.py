"""Stage 2's tokens (issue 11 §7): deterministic nearest codes by default, the thesis code's
sampled tokens (softmax over −distance, temperature 1) as an option."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_stage1

from ncsweep.config import ConfigError, Stage2Config, from_dict
from ncsweep.train.stage1 import run_stage1
from ncsweep.train.stage2 import Stage2Trainer
from ncsweep.train.tokens import code_logits, nearest_tokens, sample_tokens

TINY_S2 = {
    "prior": {"hidden": 32, "n_layers": 1, "n_heads": 2, "head_dim": 8},
    "optim": {"epochs": 1, "batch_size": 8},
    "run": {"device": "cpu", "checkpoint_every": 0},
}


@pytest.fixture(scope="module")
def stage1_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("s1")
    run_stage1(tiny_stage1(optim={"epochs": 1}, run={"eval_every": 0}), out)
    return out


def trainer(stage1_dir, out, **tokens) -> Stage2Trainer:
    cfg = from_dict(Stage2Config, {**TINY_S2, "stage1": str(stage1_dir), "tokens": tokens})
    return Stage2Trainer(cfg, out)


def test_the_default_is_the_nearest_code(stage1_dir, tmp_path):
    t = trainer(stage1_dir, tmp_path)
    assert t.cfg.tokens.source == "nearest"
    x = torch.as_tensor(t.data.x_test, dtype=torch.float32)
    assert torch.equal(t.tok_test, t.stage1.tokenize(x))
    idx = torch.arange(5)
    assert torch.equal(t.tokens.batch(idx, torch.Generator()), t.tok_train[:5])  # fixed


def test_logits_rank_the_codes_as_the_tokenizer_does(stage1_dir, tmp_path):
    t = trainer(stage1_dir, tmp_path)
    x = t.data.x_train
    logits = code_logits(t.stage1, x, t.device)  # (N, T, K)
    assert logits.shape == (len(x), t.stage1.tokens_per_series, t.stage1.cfg.vq.codebook_size)
    assert torch.equal(logits.argmax(-1), nearest_tokens(t.stage1, x, t.device))
    assert not t.stage1.training


def test_draws_follow_the_softmax_and_its_temperature():
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0]).expand(20_000, 4)
    gen = torch.Generator().manual_seed(0)
    freq = torch.bincount(sample_tokens(logits, 1.0, gen), minlength=4) / 20_000
    torch.testing.assert_close(freq, logits[0].softmax(-1), atol=0.015, rtol=0)
    cold = sample_tokens(logits, 1e-3, gen)
    assert (cold == 0).all()  # T → 0: the nearest code
    hot = torch.bincount(sample_tokens(logits, 1e3, gen), minlength=4) / 20_000
    torch.testing.assert_close(hot, torch.full((4,), 0.25), atol=0.015, rtol=0)


def test_sampled_tokens_are_redrawn_per_batch_and_fixed_for_validation(stage1_dir, tmp_path):
    a = trainer(stage1_dir, tmp_path / "a", source="sampled")
    b = trainer(stage1_dir, tmp_path / "b", source="sampled")
    assert torch.equal(a.tok_test, b.tok_test)  # one seeded draw of the whole test split
    idx = torch.arange(len(a.tok_train))
    gen = torch.Generator().manual_seed(1)
    first, second = a.tokens.batch(idx, gen), a.tokens.batch(idx, gen)
    assert not torch.equal(first, second)  # a fresh draw for every batch
    nearest = trainer(stage1_dir, tmp_path / "n").tok_train
    agree = (first == nearest).float().mean()
    assert 1 / 32 < agree < 1  # mostly near the nearest code, not always it
    loss, _ = a._fit_one_epoch()  # trains on the draws (no generative evaluation here)
    assert loss > 0 and a.validate()["val/prior_loss"] > 0


@pytest.mark.parametrize(
    ("tokens", "message"),
    [({"source": "gumbel"}, "tokens.source"), ({"temperature": 0}, "tokens.temperature")],
)
def test_bad_token_options_are_refused_by_key(tokens, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(Stage2Config, {"tokens": tokens})
