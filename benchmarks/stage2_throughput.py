"""Stage-2 throughput: prior training steps/s, iterative-decoding samples/s, and the time one
trial's generative evaluation (FID + IS + CAS) takes with the study's settings.

The prior runs at the spec's size (≈1.1 M parameters) on random tokens of the dataset's
tokens-per-series (throughput does not depend on the values), batch 256, AdamW + cosine (the
trainer's make_optimizer). Decoding is spec §2: T = 10 steps, guidance s = 1 (one pass per step)
and, for comparison, s ≠ 1 (two passes). The frozen stage-1 decoder (default config) turns tokens
into series.

Evaluation per trial is ESTIMATED from measured unit costs, not run in full:
  FID + IS  = decode n_test unconditional samples + FCN features of n_test real + n_test fake
  CAS       = decode max(1000, n_train) conditional samples
              + FCN training for 1000 epochs: ONE epoch is timed and multiplied by 1000
              + FCN accuracy on the n_test real series
The cached evaluator FCN (trained once per dataset, not per trial) is estimated the same way.
Shapes come from the dataset registry (no data files needed).

    python benchmarks/stage2_throughput.py --steps 3 --decode-n 64
    python benchmarks/stage2_throughput.py --device cuda --dataset FordA
    python benchmarks/stage2_throughput.py --device cuda --dataset FordA --write-timings gpu.json

--write-timings FILE writes (or merges into FILE, e.g. after the stage-1 benchmark) two entries
at the dataset's length for `ncsweep plan --timings FILE`:
  stage2     seconds_per_epoch_per_kseries = (1 / train steps/s) x (1000 / 256);
             sample_seconds_per_kseries = 1000 / decode samples/s (s = 1)
                                          + 2000 x FCN inference s/series
             (generate 1000 series, features of them and of 1000 real ones: FID/IS/CAS samples)
  evaluator  seconds_per_epoch_per_kseries = FCN epoch on the CAS set x (1000 / its size)
The plan prices each stage-2 trial's evaluation from these two (CAS FCN = the evaluator's rate).
Run it for a short and a long dataset (e.g. SonyAIBORobotSurface1 and FordA) to interpolate.
"""

from __future__ import annotations

import argparse
import json
import time


def timed(fn, device, repeat: int = 1) -> float:
    """Seconds per call of ``fn`` (after one warm-up call), synchronising CUDA."""
    import torch

    fn()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    sync()
    return (time.perf_counter() - start) / repeat


def prior_and_stage1(info, device):
    import torch

    from ncsweep.config import Stage1Config, Stage2Config
    from ncsweep.models.maskgit import MaskGIT
    from ncsweep.models.stage1 import Stage1Model

    stage1 = Stage1Model(Stage1Config(), info.length).to(device).eval()
    n_tokens = stage1.tokens_per_series
    prior = MaskGIT(Stage2Config().prior, torch.randn(32, 64), n_tokens, info.n_classes).to(device)
    return prior, stage1, n_tokens


def bench_training(prior, n_tokens: int, n_classes: int, steps: int, device) -> float:
    import torch

    from ncsweep.train.common import make_optimizer

    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 32, (256, n_tokens), device=device)
    labels = torch.randint(0, n_classes, (256,), device=device)
    opt, sched = make_optimizer(prior.parameters(), 1e-3, 1e-3, 1000)

    def step() -> None:
        from ncsweep.models.masking import random_mask

        mask = random_mask(256, n_tokens, prior.schedule, gen).to(device)
        loss, _ = prior.loss(tokens, prior.drop_labels(labels, gen), mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()

    prior.train()
    return 1.0 / timed(step, device, steps)


def bench_decoding(prior, stage1, n: int, guidance: float, device) -> float:
    """Samples/s of iterative decoding + stage-1 decoding to series, at the trainer's compute
    batch (MaskGIT.sampling_batch: one 256-sample noise block on a CPU, all n on a GPU)."""
    import torch

    from ncsweep.config import Stage2Config
    from ncsweep.config.stage2 import SamplingConfig
    from ncsweep.train.sampling import generate

    cfg = Stage2Config(sampling=SamplingConfig(guidance=guidance))
    labels = torch.zeros(n, dtype=torch.long)
    gen = torch.Generator().manual_seed(0)
    return n / timed(lambda: generate(prior, stage1, n, labels, cfg, gen), device)


def bench_sampling_batch(prior, n: int, device) -> tuple[float, float]:
    """Iterative decoding alone, samples/s: one noise block per pass vs the compute batch the
    trainer picks for this device (same samples either way, issue 15 §2)."""
    import torch

    from ncsweep.config.stage2 import SamplingConfig

    cfg, labels = SamplingConfig(), torch.zeros(n, dtype=torch.long)

    def rate(batch: int) -> float:
        run = lambda: prior.sample(n, labels, cfg, torch.Generator().manual_seed(0), batch=batch)  # noqa: E731
        return n / timed(run, device)

    return rate(cfg.batch_size), rate(prior.sampling_batch(n, cfg, device))


def bench_fcn(info, n_cas: int, device) -> tuple[float, float, float]:
    """(seconds per FCN epoch on n_cas series, per evaluator epoch on n_train, inference s/series)."""
    import torch

    from ncsweep.config.stage2 import EvaluatorConfig
    from ncsweep.train.evaluator import fit_fcn, predict

    x = torch.randn(n_cas, info.length)
    y = torch.randint(0, info.n_classes, (n_cas,))
    one = EvaluatorConfig(epochs=1)
    epoch_cas = timed(lambda: fit_fcn(x, y, info.n_classes, one, device=device), device)
    xt, yt = x[: info.n_train], y[: info.n_train]
    epoch_eval = timed(lambda: fit_fcn(xt, yt, info.n_classes, one, device=device), device)
    model = fit_fcn(x[:64], y[:64], info.n_classes, one, device=device)
    per_series = timed(lambda: predict(model, x), device) / n_cas
    return epoch_cas, epoch_eval, per_series


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    ap.add_argument(
        "--dataset", default="SonyAIBORobotSurface1", help="registry name (sets L, sizes)"
    )
    ap.add_argument("--steps", type=int, default=10, help="timed prior training steps")
    ap.add_argument("--decode-n", type=int, default=256, help="series per timed decoding run")
    ap.add_argument(
        "--fcn-epochs", type=int, default=1000, help="study FCN epochs (evaluator, CAS)"
    )
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    ap.add_argument(
        "--write-timings",
        metavar="FILE",
        help="write/merge the stage-2 and evaluator rates into FILE (for ncsweep plan --timings)",
    )
    args = ap.parse_args(argv)

    import torch

    from ncsweep.config.stage2 import SamplingConfig
    from ncsweep.data import REGISTRY
    from ncsweep.train.common import resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    info = REGISTRY[args.dataset]
    torch.manual_seed(0)
    prior, stage1, n_tokens = prior_and_stage1(info, device)
    train_sps = bench_training(prior, n_tokens, info.n_classes, args.steps, device)
    decode = bench_decoding(prior, stage1, args.decode_n, 1.0, device)
    decode_cfg = bench_decoding(prior, stage1, args.decode_n, 2.0, device)
    n_batch = max(args.decode_n, info.n_test)  # the FID set: every test series
    per_block, per_auto = bench_sampling_batch(prior, n_batch, device)
    n_cas = max(1000, info.n_train)
    epoch_cas, epoch_eval, infer = bench_fcn(info, n_cas, device)
    fid_is = info.n_test / decode + 2 * info.n_test * infer
    cas = n_cas / decode + args.fcn_epochs * epoch_cas + info.n_test * infer
    out = {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "dataset": args.dataset,
        "tokens_per_series": n_tokens,
        "prior_params": sum(p.numel() for p in prior.parameters()),
        "train_steps_per_s@256": round(train_sps, 3),
        "train_epoch_s_est": round(-(-info.n_train // 256) / train_sps, 3),
        "decode_samples_per_s(s=1)": round(decode, 2),
        "decode_samples_per_s(s=2)": round(decode_cfg, 2),
        f"sampling_batch(n={n_batch})": prior.sampling_batch(n_batch, SamplingConfig(), device),
        "sample_samples_per_s@block256": round(per_block, 2),
        "sample_samples_per_s@auto": round(per_auto, 2),
        "sample_speedup_auto_vs_block": round(per_auto / per_block, 2),
        f"fcn_epoch_s(cas,n={n_cas})": round(epoch_cas, 3),
        "eval_fid_is_s_est": round(fid_is, 1),
        "eval_cas_s_est": round(cas, 1),
        "eval_per_trial_s_est": round(fid_is + cas, 1),
        "evaluator_once_per_dataset_s_est": round(args.fcn_epochs * epoch_eval, 1),
        "note": f"FCN training extrapolated: 1 epoch measured x {args.fcn_epochs}",
    }
    print(json.dumps(out, indent=1))
    if args.write_timings:
        rates = {"train_sps": train_sps, "decode": decode, "infer": infer, "epoch_cas": epoch_cas}
        write_timings(args.write_timings, device, info, n_cas, rates)


def write_timings(path: str, device, info, n_cas: int, r: dict[str, float]) -> None:
    import datetime

    from ncsweep.config import Stage2Config
    from ncsweep.study.timings import Entry, device_label, merge_timings

    cfg = Stage2Config()
    batch = 256  # bench_training's batch
    train = 1000.0 / (r["train_sps"] * batch)
    sample = 1000.0 / r["decode"] + 2000.0 * r["infer"]
    fcn = r["epoch_cas"] * 1000.0 / n_cas
    entries = [
        Entry("stage2", info.length, "-", batch, train, sample),
        Entry("evaluator", info.length, "-", cfg.evaluator.batch_size, fcn),
    ]
    today = datetime.date.today().isoformat()
    out = merge_timings(path, device_label(str(device)), today, entries)
    print(f"wrote {len(entries)} entries to {out.source} (device: {out.device})")


if __name__ == "__main__":
    main()
