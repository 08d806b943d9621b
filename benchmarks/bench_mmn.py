#!/usr/bin/env python3
"""MMN speed: parameters, FLOPs, latency at batch 1, throughput at batch 64 (CPU; CUDA when present):
the model on a whole batch, and as the tool runs it (``recognizer.inference``: micro-batches of 8
clips on the CPU; fp32, and bf16/fp16 autocast rows on CUDA).

    python benchmarks/bench_mmn.py [--checkpoint PATH] [--repeats 20] [--threads N] [--micro-batches 4 16]

``--micro-batches`` adds rows for other micro-batch sizes.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recognizer.inference import MICRO_BATCH  # noqa: E402
from recognizer.mmn import MMN, MMNConfig  # noqa: E402


def timed(fn, repeats: int, sync) -> list[float]:
    for _ in range(3):
        fn()
    sync()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", help="an MMN checkpoint (default: a randomly initialised MA-52 model)")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--micro-batches", type=int, nargs="*", default=[],
                    help="also time micro-batches of these sizes")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.checkpoint:
        from recognizer.checkpoints import load_mmn

        model = load_mmn(args.checkpoint)
    else:
        model = MMN(MMNConfig()).eval()
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}")
    print(f"parameters: {model.num_parameters():,}")
    x1, t1 = torch.randn(1, 2, 64, 44, 1), torch.linspace(-1, 1, 64).repeat(1, 1)
    with FlopCounterMode(display=False) as fc, torch.inference_mode():
        model(x1, t1)
    print(f"FLOPs per clip: {fc.get_total_flops() / 1e9:.3f} GFLOP")

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for dev in devices:
        sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
        plain = model.to(dev)
        variants = [("whole batch fp32", plain, None)]
        if dev == "cpu":
            variants.append((f"as run: micro-batch {MICRO_BATCH} fp32", _in_micro_batches(plain, MICRO_BATCH), None))
            variants += [(f"micro-batch {mb} fp32", _in_micro_batches(plain, mb), None) for mb in args.micro_batches]
        else:
            variants += [("bf16 autocast (--precision bf16)", plain, torch.bfloat16),
                         ("fp16 autocast (--precision fp16)", plain, torch.float16)]
        for name, net, amp in variants:
            for batch in (1, 64):
                x = torch.randn(batch, 2, 64, 44, 1, device=dev)
                it = torch.linspace(-1, 1, 64, device=dev).repeat(batch, 1)

                def run():
                    with torch.inference_mode(), torch.autocast(dev, dtype=amp or torch.float32, enabled=amp is not None):
                        net(x, it)

                times = timed(run, args.repeats if batch == 64 else args.repeats * 3, sync)
                med = statistics.median(times)
                rows.append((dev, name, batch, med * 1000, batch / med))
    print(f"{'device':7} {'variant':34} {'batch':>5} {'ms/batch':>10} {'clips/s':>10}")
    for dev, name, batch, ms, cps in rows:
        print(f"{dev:7} {name:34} {batch:5d} {ms:10.2f} {cps:10.1f}")
    cpu = {r[1]: r for r in rows if r[0] == "cpu" and r[2] == 64}
    run_as = cpu[f"as run: micro-batch {MICRO_BATCH} fp32"]
    print(f"cpu: as run / whole batch throughput at batch 64 = {run_as[4] / cpu['whole batch fp32'][4]:.2f}x")


def _in_micro_batches(model, size: int):
    def run(x, index_t):
        return torch.cat([model(x[i:i + size], index_t[i:i + size]) for i in range(0, len(x), size)])

    return run


if __name__ == "__main__":
    main()
