"""torch.distributions on the work of `vi-bench dist` (same sizes, same timing protocol).

    /tmp/peers/venv/bin/python benches/peers/bench_dist.py --threads 1 > peers-dist.jsonl

Each line: {"suite":"dist","peer":"torch","bench","dtype","B","n"[,"k"],"threads","median_s",
"min_s","repeats","inner"}. Distributions are built with torch's default argument validation, as
ours are (`new` validates).
"""
import argparse
import json
import time

import numpy as np
import torch
from torch.distributions import LowRankMultivariateNormal, MultivariateNormal

LOW_RANK = (256, 1000, 10)
FULL = (1024, 64)


def timeit(f, repeats, target_s=0.03):
    f()
    t0 = time.perf_counter()
    f()
    once = max(time.perf_counter() - t0, 1e-7)
    inner = int(min(max(target_s / once, 1), 10_000))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            f()
        times.append((time.perf_counter() - t0) / inner)
    times.sort()
    return dict(median_s=times[len(times) // 2], min_s=times[0], repeats=repeats, inner=inner)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    repeats = 3 if args.quick else 7
    rng = np.random.default_rng(0)
    u = lambda *shape: rng.uniform(-1.0, 1.0, shape)
    for dtype in (torch.float32, torch.float64):
        dname = str(dtype).replace("torch.", "")
        t = lambda a: torch.tensor(a, dtype=dtype)
        for grad in (False, True):
            b, n, k = LOW_RANK
            loc, w, d, x = t(u(n)), t(0.3 * u(n, k)), t(0.25 * u(n) + 0.75), t(2.0 * u(b, n))

            def low_rank():
                p = [v.clone().requires_grad_(grad) for v in (loc, w, d)]
                lp = LowRankMultivariateNormal(*p).log_prob(x)
                if grad:
                    torch.autograd.grad(lp.sum(), p)

            bench = "lowrank_log_prob" + ("_fwd_bwd" if grad else "")
            row = dict(suite="dist", peer="torch", bench=bench, dtype=dname, B=b, n=n, k=k,
                       threads=args.threads, **timeit(low_rank, repeats))
            print(json.dumps(row), flush=True)

            b, n = FULL
            off = np.tril(0.1 * u(b, n, n), -1)
            tril = t(off + np.eye(n) * (0.5 * u(b, n, 1) + 1.5))
            loc, x = t(u(b, n)), t(2.0 * u(b, n))

            def full():
                p = [v.clone().requires_grad_(grad) for v in (loc, tril)]
                lp = MultivariateNormal(p[0], scale_tril=p[1]).log_prob(x)
                if grad:
                    torch.autograd.grad(lp.sum(), p)

            bench = "mvn_log_prob" + ("_fwd_bwd" if grad else "")
            row = dict(suite="dist", peer="torch", bench=bench, dtype=dname, B=b, n=n,
                       threads=args.threads, **timeit(full, repeats))
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
