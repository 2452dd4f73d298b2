"""Stage-1 training throughput: steps/s, CPU-seconds per step and peak memory per SSL variant.

One step = draw the batched augmentation + forward + backward + AdamW step, at batch 128 with the
full-size projector (128 → 4096 → 4096 → 4096), on random N(0, 1) series (throughput does not
depend on the values). Each (variant, L) runs in a fresh subprocess so that its peak memory is its
own:
- GPU: torch.cuda.max_memory_allocated() (tensors only, no allocator cache).
- CPU: growth of the process's peak RSS (resource.getrusage ru_maxrss) from just before the model
  is built to the end of the timed steps; it includes allocator slack, not only live tensors.
The optimiser is the trainer's (ncsweep.train.common.make_optimizer: AdamW + cosine schedule);
--fused-adamw swaps in AdamW(fused=True) to show what that would save.
GFLOP/step is torch's FlopCounterMode count of one step; divided by the time it shows how close
each variant runs to the yardstick (the machine's fp32 GEMM rate, printed last).
CPU-s/step is time.process_time() (all threads of the process) per timed step, the median over
the timed steps (steps/s likewise from the median wall time: shared machines are noisy); the
speed-up column divides the thesis code's single-threaded CPU-s/step (batch 128) by it, so
compare it with --threads 1.

    python benchmarks/stage1_throughput.py --threads 1 --steps 5
    python benchmarks/stage1_throughput.py --device cuda --steps 20
    python benchmarks/stage1_throughput.py --device cuda --steps 20 --write-timings gpu.json

--write-timings FILE writes (or merges into FILE) one stage-1 entry per variant x L for
`ncsweep plan --timings FILE`: seconds per epoch per 1000 series = wall seconds per step x
(1000 / batch). Other lengths than 128 / 500 may be measured (no thesis column for them).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

# Thesis code, single-threaded, batch 128: CPU-seconds per step (variant, L).
THESIS_CPU_S = {
    ("none", 128): 0.51,
    ("barlowtwins", 128): 3.74,
    ("vibcreg", 128): 4.96,
    ("none", 500): 1.58,
    ("barlowtwins", 500): 6.28,
    ("vibcreg", 500): 6.88,
}
VARIANTS = ("none", "barlowtwins", "vibcreg")
LENGTHS = (128, 500)


def build(variant: str, length: int, augmentation: str, device: str, fused: bool = False):
    """Model, optimiser + scheduler and augmentation as the stage-1 trainer builds them."""
    import torch

    from ncsweep.augment import build_augmentation
    from ncsweep.config import Stage1Config, override
    from ncsweep.models.stage1 import Stage1Model
    from ncsweep.train.common import make_optimizer

    aug = None if variant == "none" else augmentation
    cfg = override(Stage1Config(), {"ssl": {"method": variant, "augmentation": aug}})
    model = Stage1Model(cfg, length).to(device).train()
    if fused:  # what make_optimizer would build with fused=True: one kernel for all tensors
        opt = torch.optim.AdamW(
            model.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay, fused=True
        )
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    else:
        opt, sched = make_optimizer(model.parameters(), cfg.optim.lr, cfg.optim.weight_decay, 10**6)
    augment = build_augmentation(aug, cfg.augment) if aug else None
    return model, (opt, sched), augment


def train_step(model, optim, augment, x, gen) -> None:
    opt, sched = optim
    x_aug = augment(x, gen) if augment is not None else None
    loss, _ = model(x, x_aug)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()


def measure(variant: str, length: int, args) -> dict:
    """Runs in the child process: one warm-up step, then ``args.steps`` timed steps."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gen = torch.Generator(device=args.device).manual_seed(0)
    x = torch.randn(args.batch, length, device=args.device)
    cuda = args.device.startswith("cuda")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    model, opt, augment = build(variant, length, args.augmentation, args.device, args.fused_adamw)
    train_step(model, opt, augment, x, gen)  # warm-up: allocations, AdamW state, kernel choice
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    sync()
    walls, cpus = [], []
    for _ in range(args.steps):  # per step, so that one disturbed step does not move the median
        wall0, cpu0 = time.perf_counter(), time.process_time()
        train_step(model, opt, augment, x, gen)
        sync()
        walls.append(time.perf_counter() - wall0)
        cpus.append(time.process_time() - cpu0)
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if cuda
        else (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 2**10
    )
    n_params = sum(p.numel() for p in model.parameters())
    return {
        "steps_s": 1.0 / statistics.median(walls),
        "cpu_s": statistics.median(cpus),
        "peak_mib": peak,
        "params": n_params,
        "gflop": step_gflop(model, opt, augment, x, gen),
    }


def step_gflop(model, opt, augment, x, gen) -> float:
    """FLOPs of one training step (forward + backward), counted by torch's FlopCounterMode.

    The oneDNN linear (ncsweep/models/linear.py) is a custom op the counter cannot see, so the
    count runs one extra step through plain F.linear: the same arithmetic."""
    from torch.utils.flop_counter import FlopCounterMode

    from ncsweep.models import linear

    saved = linear.use_onednn
    linear.use_onednn = lambda *a: False
    try:
        counter = FlopCounterMode(display=False)
        with counter:
            train_step(model, opt, augment, x, gen)
    finally:
        linear.use_onednn = saved
    return counter.get_total_flops() / 1e9


def run_child(variant: str, length: int, args) -> dict:
    cmd = [sys.executable, __file__, "--one", variant, str(length)] + child_args(args)
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{variant} L={length} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def child_args(args) -> list[str]:
    return [
        f"--device={args.device}",
        f"--steps={args.steps}",
        f"--threads={args.threads}",
        f"--batch={args.batch}",
        f"--augmentation={args.augmentation}",
    ] + (["--fused-adamw"] if args.fused_adamw else [])


def matmul_gflops(args) -> float:
    """fp32 matmul rate at the projector's shape, per CPU-second (per wall second on a GPU):
    a yardstick to compare tables from different or differently loaded machines."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    a = torch.randn(args.batch, 4096, device=args.device)
    w = torch.randn(4096, 4096, device=args.device)
    cuda = args.device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    clock = time.perf_counter if cuda else time.process_time
    best = float("inf")
    for _ in range(5):
        sync()
        t0 = clock()
        a @ w
        sync()
        best = min(best, clock() - t0)
    return 2 * args.batch * 4096 * 4096 / best / 1e9


def print_table(rows: list[tuple[str, int, dict]], args) -> None:
    mem = "peak alloc MiB" if args.device.startswith("cuda") else "peak RSS +MiB"
    print(
        f"device={args.device} threads={args.threads or 'default'} batch={args.batch} "
        f"steps={args.steps} augmentation={args.augmentation} projector=4096 "
        f"adamw={'fused' if args.fused_adamw else 'train.common.make_optimizer'}"
    )
    rate = "GFLOP/s" if args.device.startswith("cuda") else "GFLOP/CPU-s"
    head = f"{'variant':<12} {'L':>5} {'params':>8} {'steps/s':>8} {'CPU-s/step':>10} "
    head += f"{'thesis CPU-s':>12} {'speed-up':>8} {mem:>15} {'GFLOP/step':>10} {rate:>11}"
    print(head)
    for variant, length, r in rows:
        ref = THESIS_CPU_S.get((variant, length))
        refs = f"{ref:>12.2f} {ref / r['cpu_s']:>7.2f}x" if ref else f"{'-':>12} {'-':>8}"
        seconds = 1.0 / r["steps_s"] if args.device.startswith("cuda") else r["cpu_s"]
        print(
            f"{variant:<12} {length:>5} {r['params'] / 1e6:>7.2f}M {r['steps_s']:>8.3f} "
            f"{r['cpu_s']:>10.3f} {refs} {r['peak_mib']:>15.0f} {r['gflop']:>10.1f} "
            f"{r['gflop'] / seconds:>11.1f}"
        )


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    p.add_argument(
        "--steps", type=int, default=10, help="timed steps per variant (after 1 warm-up)"
    )
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0 = torch default")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument(
        "--augmentation", default="warp", help="second-view augmentation: warp | slice | gauss"
    )
    p.add_argument(
        "--fused-adamw", action="store_true", help="AdamW(fused=True) instead of the trainer's"
    )
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    p.add_argument("--lengths", nargs="+", type=int, default=list(LENGTHS), help="series lengths")
    p.add_argument(
        "--write-timings",
        metavar="FILE",
        help="write/merge the measured stage-1 rates into FILE (for ncsweep plan --timings)",
    )
    p.add_argument("--one", nargs=2, metavar=("VARIANT", "L"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args)))
        return
    rows = [(v, n, run_child(v, n, args)) for n in args.lengths for v in args.variants]
    print_table(rows, args)
    print(
        f"yardstick: fp32 matmul ({args.batch}x4096 @ 4096x4096) {matmul_gflops(args):.1f} GFLOP/s"
    )
    if args.write_timings:
        write_timings(rows, args)


def write_timings(rows: list[tuple[str, int, dict]], args) -> None:
    """Stage-1 entries: s / epoch / 1000 series = (1 / steps_s) x (1000 / batch)."""
    import datetime

    from ncsweep.study.timings import Entry, device_label, merge_timings

    entries = [
        Entry("stage1", length, variant, args.batch, 1000.0 / (r["steps_s"] * args.batch))
        for variant, length, r in rows
    ]
    today = datetime.date.today().isoformat()  # the parent ran matmul_gflops: threads are set
    out = merge_timings(args.write_timings, device_label(args.device), today, entries)
    print(f"wrote {len(entries)} stage-1 entries to {out.source} (device: {out.device})")


if __name__ == "__main__":
    main()
