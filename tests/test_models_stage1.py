"""Stage-1 model: STFT, encoder/decoder shapes for every study length, losses of every variant."""

import copy

import pytest
import torch

from ncsweep.augment import AUGMENTATIONS, build_augmentation
from ncsweep.config import Stage1Config, override
from ncsweep.config.stage1 import EncoderConfig, STFTConfig
from ncsweep.losses.ssl import SSL_METHODS
from ncsweep.models.decoder import Decoder
from ncsweep.models.encoder import Encoder, downsample_rate
from ncsweep.models.stage1 import Stage1Model, pool
from ncsweep.models.stft import istft, stft

# Study lengths (spec §0) → tokens per series (5 · W').
TOKENS = {
    65: 40,
    70: 45,
    96: 60,
    128: 40,
    140: 40,
    152: 45,
    398: 60,
    500: 75,
    512: 40,
    945: 70,
    1024: 40,
}
VQ_TERMS = {"recon_x", "recon_u", "commit", "total", "perplexity"}
SSL_TERMS = {"aug_recon_x", "aug_recon_u", "ssl"}

VARIANTS = [("none", None)] + [
    (m, a) for m, spec in SSL_METHODS.items() if spec.enabled for a in sorted(AUGMENTATIONS)
]


def small_cfg(method: str = "none", aug: str | None = None) -> Stage1Config:
    ssl = {"method": method, "augmentation": aug, "proj_hidden": 128, "proj_out": 128}
    return override(Stage1Config(), {"ssl": ssl})


def model(length: int, method: str = "none", aug: str | None = None, seed: int = 0):
    torch.manual_seed(seed)
    return Stage1Model(small_cfg(method, aug), length)


def test_downsample_rate_uses_bankers_rounding():
    assert downsample_rate(152, 8, 8) == 10  # round(9.5) = 10
    assert downsample_rate(10, 8, 8) == 1  # never below 1


@pytest.mark.parametrize("length", sorted(TOKENS))
def test_latent_shape_and_tokens(length):
    m = model(length)
    assert m.tokens_per_series == TOKENS[length]
    u = stft(torch.randn(2, length), m.cfg.stft)
    z = m.encoder(u)
    assert z.shape == (2, 64, *m.latent_shape)
    assert m.latent_shape[0] == 5
    assert m.decoder(z).shape == u.shape == (2, 2, 5, length // 2 + 1)


@pytest.mark.parametrize("length", [65, 70, 127, 128, 945])
def test_stft_round_trip_keeps_length(length):
    x = torch.randn(3, length)
    u = stft(x, STFTConfig())
    assert u.shape == (3, 2, 5, length // 2 + 1)
    x_back = istft(u, length, STFTConfig())
    assert x_back.shape == x.shape  # odd L keeps its last sample (spec fix)
    assert torch.allclose(x_back, x, atol=1e-5)


def test_param_count_matches_thesis():
    m = model(128)
    n = sum(p.numel() for mod in (m.encoder, m.decoder) for p in mod.parameters())
    assert 0.53e6 * 0.9 < n < 0.53e6 * 1.1


def test_encoder_output_has_no_projection():
    enc = Encoder(128, STFTConfig(), EncoderConfig())
    dec = Decoder(128, STFTConfig(), EncoderConfig())
    assert isinstance(enc.net[-1], torch.nn.BatchNorm2d)  # last res block's BN, then z
    assert enc.n_down == 3
    assert sum(isinstance(m, torch.nn.ConvTranspose2d) for m in dec.modules()) == 4


@pytest.mark.parametrize(("method", "aug"), VARIANTS)
def test_every_parameter_gets_a_gradient(method, aug):
    m = model(70, method, aug).train()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(8, 70, generator=gen)
    x_aug = build_augmentation(aug, m.cfg.augment)(x, gen) if aug else None
    loss, terms = m(x, x_aug)
    want = VQ_TERMS | (SSL_TERMS if aug else set())
    assert set(terms) == want
    assert all(torch.isfinite(v).all() for v in terms.values())
    loss.backward()
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
    for part in ("encoder", "decoder", "projector", "iternorm"):
        if getattr(m, part) is not None:
            grads = [p.grad.abs().sum() for p in getattr(m, part).parameters()]
            assert sum(grads) > 0, part


@pytest.mark.parametrize(("method", "aug"), VARIANTS[:2])
def test_total_is_the_weighted_sum_of_terms(method, aug):
    m = model(96, method, aug)
    x = torch.randn(6, 96)
    loss, t = m(x, x + 0.1 * torch.randn_like(x) if aug else None)
    want = t["recon_x"] + t["recon_u"] + m.cfg.vq.beta * t["commit"]
    if aug:
        want = want + m.cfg.ssl.zeta * (t["aug_recon_x"] + t["aug_recon_u"]) + t["ssl"]
    assert torch.allclose(loss.detach(), want)
    assert torch.equal(t["total"], loss.detach())


def test_ssl_gradient_reaches_encoder_through_quantised_branch():
    m = model(70, "barlowtwins", "gauss")
    x = torch.randn(8, 70)
    z_q, _, _, _ = m.vq(m.encoder(stft(x, m.cfg.stft)))
    with torch.no_grad():  # the augmented view is cut off: only z_q can carry a gradient
        z2 = m.encoder(stft(x + 0.05 * torch.randn_like(x), m.cfg.stft))
    p1, p2 = m.projector(pool(z_q), pool(z2))
    m.ssl_method.loss(p1, p2, m.cfg.ssl).backward()  # the SSL term alone
    assert sum(p.grad.abs().sum() for p in m.encoder.parameters()) > 0


def test_unknown_ssl_method_is_rejected():
    cfg = override(Stage1Config(), {"ssl": {"method": "simclr", "augmentation": "warp"}})
    with pytest.raises(ValueError, match="simclr"):
        Stage1Model(cfg, 128)


def test_inference_helpers_are_eval_mode_and_consistent():
    m = model(140)
    m.train()(torch.randn(16, 140))  # some EMA / BN state
    state = {k: v.clone() for k, v in m.state_dict().items()}
    x = torch.randn(5, 140)
    tokens = m.tokenize(x)
    assert tokens.shape == (5, 40) and tokens.dtype == torch.long
    assert tokens.min() >= 0 and tokens.max() < m.cfg.vq.codebook_size
    assert torch.equal(tokens, m.tokenize(x))
    x_hat, u, u_hat = m.reconstruct(x)
    assert x_hat.shape == x.shape and u.shape == u_hat.shape == (5, 2, 5, 71)
    assert torch.allclose(m.decode_tokens(tokens), x_hat, atol=1e-6)
    assert m.features(x).shape == (5, 64)
    assert m.training  # the mode is restored
    for k, v in m.state_dict().items():
        assert torch.equal(v, state[k]), k  # no EMA or BatchNorm update


def test_state_dict_round_trip():
    a, b = model(128, "vibcreg", "slice", seed=0), model(128, "vibcreg", "slice", seed=1)
    a.train()(torch.randn(8, 128), torch.randn(8, 128))
    b.load_state_dict(a.state_dict())
    x = torch.randn(4, 128)
    assert torch.equal(a.tokenize(x), b.tokenize(x))
    assert torch.allclose(a.vq.codebook, b.vq.codebook)


def test_seeded_models_repeat():
    x = torch.randn(8, 65)
    runs = []
    for _ in range(2):
        m = model(65, "barlowtwins", "warp", seed=7)
        gen = torch.Generator().manual_seed(1)
        x_aug = build_augmentation("warp", m.cfg.augment)(x, gen)
        runs.append(m(x, x_aug)[1])
    for k in runs[0]:
        assert torch.equal(runs[0][k], runs[1][k]), k


def one_pass_per_view(m: Stage1Model, x: torch.Tensor, x_aug: torch.Tensor) -> torch.Tensor:
    """The loss as separate passes per view compute it (the reference for the stacked pass)."""
    cfg = m.cfg
    u = stft(x, cfg.stft)
    z_q, _, commit, _ = m.vq(m.encoder(u))
    u_hat = m.decoder(z_q)
    u2 = stft(x_aug, cfg.stft)
    z2 = m.encoder(u2)
    u2_hat = m.decoder(z2)
    mse = torch.nn.functional.mse_loss
    recon = mse(istft(u_hat, m.length, cfg.stft), x) + mse(u_hat, u) + cfg.vq.beta * commit
    aug = mse(istft(u2_hat, m.length, cfg.stft), x_aug) + mse(u2_hat, u2)
    p1, p2 = m.projector(pool(z_q)), m.projector(pool(z2))
    if m.iternorm is not None:
        p1, p2 = m.iternorm(p1), m.iternorm(p2)
    return recon + cfg.ssl.zeta * aug + m.ssl_method.loss(p1, p2, cfg.ssl)


@pytest.mark.parametrize("method", ["barlowtwins", "vibcreg"])
def test_stacked_views_equal_one_pass_per_view(method):
    """Loss, every gradient and every buffer (BatchNorm running stats, VQ EMA) match."""
    stacked = model(128, method, "warp")
    apart = copy.deepcopy(stacked)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(16, 128, generator=gen)
    x_aug = 1.5 * torch.randn(16, 128, generator=gen) + 0.3  # other statistics than x
    loss, _ = stacked(x, x_aug)
    ref = one_pass_per_view(apart, x, x_aug)
    loss.backward()
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    for (name, a), b in zip(stacked.named_parameters(), apart.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-3, atol=1e-5, msg=name)
    for (name, a), b in zip(stacked.named_buffers(), apart.buffers(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)
