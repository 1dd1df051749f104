"""torch.distributed (gloo backend) allreduce sweep: the Gloo peer of `npm run bench:compare`.

Started once per rank by the webccl launcher (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set).
Times float32 sum allreduce (in place: torch's all_reduce always is) for each size and prints,
from rank 0, one JSON line per size: {"bytes": B, "timeUs": T}, T being the mean over ranks of
each rank's time per call, as webccl-perf -a 1 reports it.
"""
import argparse
import json
import time

import torch
import torch.distributed as dist


def sizes(min_bytes, max_bytes, factor):
    size = min_bytes
    while size <= max_bytes:
        yield size
        size *= factor


def time_allreduce(tensor, iters, warmup):
    for _ in range(warmup):
        dist.all_reduce(tensor)
    dist.barrier()
    start = time.perf_counter()
    for _ in range(iters):
        dist.all_reduce(tensor)
    return (time.perf_counter() - start) / iters * 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--min-bytes", type=int, required=True)
    parser.add_argument("--max-bytes", type=int, required=True)
    parser.add_argument("--factor", type=int, default=2)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    dist.init_process_group("gloo", init_method="env://")
    world = dist.get_world_size()
    for size in sizes(args.min_bytes, args.max_bytes, args.factor):
        # Small values: sums stay finite over warmup + iters in-place rounds.
        tensor = torch.full((max(1, size // 4),), 1.0 / world, dtype=torch.float32)
        elapsed = torch.tensor([time_allreduce(tensor, args.iters, args.warmup)], dtype=torch.float64)
        dist.all_reduce(elapsed)
        if dist.get_rank() == 0:
            print(json.dumps({"bytes": tensor.numel() * 4, "timeUs": elapsed.item() / world}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
