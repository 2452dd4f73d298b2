"""MaskGIT prior (spec §2): masking schedule, masked-only loss, iterative decoding, guidance."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from ncsweep.config.stage2 import PriorConfig, SamplingConfig
from ncsweep.models.maskgit import MaskGIT
from ncsweep.models.masking import (
    MASK_SCHEDULES,
    get_schedule,
    n_masked_decode,
    random_mask,
)

TINY = PriorConfig(hidden=32, n_layers=2, n_heads=2, head_dim=8)
K, N, C = 16, 12, 3


def tiny_prior(seed: int = 0) -> MaskGIT:
    torch.manual_seed(seed)
    return MaskGIT(TINY, torch.randn(K, 8), n_tokens=N, n_classes=C).eval()


def count_forwards(model: MaskGIT) -> list[int]:
    """Batch sizes of every forward pass through the transformer."""
    calls: list[int] = []
    model.proj_in.register_forward_hook(lambda m, i, o: calls.append(o.shape[0]))
    return calls


def test_default_prior_has_spec_size():
    model = MaskGIT(PriorConfig(), torch.randn(32, 64), n_tokens=40, n_classes=2)
    n_params = sum(p.numel() for p in model.parameters())
    assert 1.0e6 < n_params < 1.2e6  # spec: "about 1.1 M parameters"
    assert model.cls_emb.num_embeddings == 3  # 2 classes + "unconditional"


def test_embedding_starts_as_the_codebook_and_is_trainable():
    codebook = torch.randn(K, 8)
    model = MaskGIT(TINY, codebook, n_tokens=N, n_classes=C)
    assert torch.equal(model.tok_emb.weight.detach(), codebook)
    assert model.tok_emb.weight.requires_grad


@pytest.mark.parametrize("name", sorted(MASK_SCHEDULES))
def test_schedules_go_from_all_to_none(name):
    gamma = get_schedule(name)
    assert float(gamma(torch.tensor(0.0))) == pytest.approx(1.0)
    assert float(gamma(torch.tensor(1.0))) == pytest.approx(0.0, abs=1e-6)


def test_unknown_schedule_is_rejected():
    with pytest.raises(ValueError, match="unknown mask schedule 'nope'"):
        get_schedule("nope")


def test_training_mask_count_follows_the_cosine_schedule():
    n_tokens, batch = 45, 512
    gen = torch.Generator().manual_seed(3)
    replay = torch.Generator().manual_seed(3)
    mask = random_mask(batch, n_tokens, get_schedule("cosine"), gen)
    r = 1.0 - torch.rand(batch, generator=replay)  # the same draw random_mask made
    expected = [max(1, math.ceil(math.cos(math.pi * float(v) / 2) * n_tokens - 1e-6)) for v in r]
    assert mask.sum(1).tolist() == expected
    assert r.min() > 0 and r.max() <= 1
    # positions are random, not a prefix: every position gets masked somewhere
    assert mask.any(0).all()


def test_decode_schedule_reaches_zero_and_never_grows():
    counts = [n_masked_decode(t, 10, 45, get_schedule("cosine")) for t in range(10)]
    assert counts == [
        math.floor(45 * math.cos(math.pi / 2 * (t + 1) / 10) + 1e-9) for t in range(10)
    ]
    assert counts[-1] == 0 and counts == sorted(counts, reverse=True)


def test_masked_token_ids_do_not_reach_the_model():
    """The mask vector replaces the embedding AFTER lookup: hidden ids cannot leak."""
    model = tiny_prior()
    tokens = torch.randint(0, K, (4, N))
    mask = torch.rand(4, N) < 0.5
    other = torch.where(mask, (tokens + 1) % K, tokens)
    labels = torch.tensor([0, 1, 2, 3])
    assert torch.allclose(model(tokens, labels, mask), model(other, labels, mask))


def test_loss_is_cross_entropy_on_masked_positions_only():
    model = tiny_prior()
    tokens = torch.randint(0, K, (6, N))
    mask = torch.rand(6, N) < 0.4
    mask[:, 0] = True
    labels = torch.randint(0, C + 1, (6,))
    loss, acc = model.loss(tokens, labels, mask)
    logits = model(tokens, labels, mask)
    manual = torch.nn.functional.cross_entropy(logits[mask], tokens[mask])
    assert torch.allclose(loss, manual)
    # scrambling the logits of UNMASKED positions changes nothing
    noise = 100.0 * torch.randn(6, N, K) * (~mask)[..., None]
    hook = model.head.register_forward_hook(lambda m, i, o: o + noise)
    loss2, acc2 = model.loss(tokens, labels, mask)
    hook.remove()
    assert torch.allclose(loss, loss2) and torch.allclose(acc, acc2)


def test_every_parameter_gets_a_gradient():
    model = tiny_prior().train()
    tokens = torch.randint(0, K, (8, N))
    mask = torch.rand(8, N) < 0.5
    mask[:, :2] = True
    loss, _ = model.loss(tokens, torch.randint(0, C + 1, (8,)), mask)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_label_dropout_uses_the_unconditional_id():
    model = tiny_prior()
    labels = torch.zeros(10_000, dtype=torch.long)
    dropped = model.drop_labels(labels, torch.Generator().manual_seed(0))
    assert set(dropped.unique().tolist()) == {0, C}
    assert (dropped == C).float().mean().item() == pytest.approx(0.2, abs=0.02)


@pytest.mark.parametrize("labels", [None, torch.tensor([0, 1, 2, 0, 1])])
def test_decoding_takes_T_steps_and_fills_every_position(labels):
    model = tiny_prior()
    calls = count_forwards(model)
    cfg = SamplingConfig(steps=7)
    tokens = model.sample(5, labels, cfg, torch.Generator().manual_seed(0))
    assert tokens.shape == (5, N) and tokens.dtype == torch.long
    assert tokens.min() >= 0 and tokens.max() < K
    assert calls == [5] * 7  # one pass per step: s = 1 skips the unconditional pass


def test_guidance_runs_both_passes_in_one_batch():
    model = tiny_prior()
    calls = count_forwards(model)
    cfg = SamplingConfig(steps=4, guidance=2.0)
    model.sample(3, torch.tensor([0, 1, 2]), cfg, torch.Generator().manual_seed(0))
    assert calls == [6] * 4


def test_guidance_one_equals_plain_conditional_sampling():
    """s = 1 (the shortcut) gives the same samples as l_u + 1·(l_c − l_u) computed in full."""
    model = tiny_prior()
    labels = torch.tensor([0, 1, 2, 1, 0, 2])
    cfg = SamplingConfig(steps=6, guidance=1.0)
    fast = model.sample(6, labels, cfg, torch.Generator().manual_seed(5))

    def full(tokens, labels, mask, guidance):
        cond = model(tokens, labels, mask)
        unc = model(tokens, torch.full_like(labels, model.uncond_id), mask)
        return unc + guidance * (cond - unc)

    model.guided_logits = full
    slow = model.sample(6, labels, cfg, torch.Generator().manual_seed(5))
    assert torch.equal(fast, slow)


def test_sampling_is_deterministic_under_a_seed_and_batched():
    model = tiny_prior()
    cfg = SamplingConfig(steps=5, batch_size=4)
    a = model.sample(10, None, cfg, torch.Generator().manual_seed(1))
    b = model.sample(10, None, cfg, torch.Generator().manual_seed(1))
    c = model.sample(10, None, cfg, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    one_batch = model.sample(
        10, None, dataclasses.replace(cfg, batch_size=256), torch.Generator().manual_seed(1)
    )
    assert one_batch.shape == a.shape


def test_class_ids_out_of_range_are_rejected():
    model = tiny_prior()
    with pytest.raises(ValueError, match="labels"):
        model.sample(2, torch.tensor([0, C + 1]), SamplingConfig(), torch.Generator())
    with pytest.raises(ValueError, match="labels"):
        model.sample(2, torch.tensor([-1, 0]), SamplingConfig(), torch.Generator())


@pytest.mark.parametrize("guidance", [1.0, 2.5])
def test_samples_do_not_depend_on_the_compute_batch(guidance):
    """Noise is drawn per block of sampling.batch_size in one fixed order, so a GPU running
    every sample in one pass (issue 15 §2) draws the same samples as a CPU running one block."""
    cfg = SamplingConfig(steps=4, batch_size=8, guidance=guidance)
    labels = torch.randint(0, C + 1, (29,), generator=torch.Generator().manual_seed(1))
    model = tiny_prior()
    runs = [model.sample(29, labels, cfg, torch.Generator().manual_seed(5), batch=b)
            for b in (None, 8, 16, 24, 29, 1000)]  # fmt: skip
    assert all(torch.equal(runs[0], r) for r in runs[1:])
    calls = count_forwards(model)
    model.sample(29, labels, cfg, torch.Generator().manual_seed(5), batch=1000)
    assert max(calls) >= 29  # one pass holds every sample (x2 with guidance)


def test_cpu_runs_one_block_and_a_gpu_batch_is_all_samples_up_to_a_cap():
    model, cfg = tiny_prior(), SamplingConfig(batch_size=256)
    assert model.sampling_batch(5000, cfg, torch.device("cpu")) == 256
    assert model.sampling_batch(5000, cfg, torch.device("cuda")) == 5000
    assert model.sampling_batch(10**7, cfg, torch.device("cuda")) == 2**23 // (N * K)
    assert model.sampling_batch(100, cfg, torch.device("cuda")) == 256  # never below a block


def test_a_pass_out_of_gpu_memory_is_halved_with_the_noise_it_drew():
    """No GPU here: a pass over 6 samples raises torch's real OutOfMemoryError instead."""
    cfg = SamplingConfig(steps=3, batch_size=4)
    labels = torch.arange(14) % C
    model = tiny_prior()
    want = model.sample(14, labels, cfg, torch.Generator().manual_seed(2))
    decode, sizes = model._decode, []

    def small_memory(lab, c, noise):
        sizes.append(len(lab))
        if len(lab) > 6:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return decode(lab, c, noise)

    model._decode = small_memory
    got = model.sample(14, labels, cfg, torch.Generator().manual_seed(2), batch=12)
    assert torch.equal(want, got)
    assert sizes[0] == 12 and max(s for s in sizes[1:]) <= 6
