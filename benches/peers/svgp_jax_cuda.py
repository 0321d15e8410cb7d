"""JAX SVGP training step on the GPU at the svgp suite's sizes: the same hand-written whitened SVGP
ELBO as bench_peers.py's svgp_jax (GPyTorch conventions, jit(value_and_grad),
numpyro.optim.Adam 1e-2), moved to
the default JAX device. JSON lines like bench_peers.py.

    python3 svgp_jax_cuda.py shared/peers/data/svgp_train.csv > jax-cuda.jsonl
"""
import json
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from jax.scipy.linalg import solve_triangular

data = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, dtype=np.float32)
Xn, yn = data[:, :-1], data[:, -1]
N, D = Xn.shape
BS = 256
JIT = 1e-4  # GPyTorch's float32 variational Cholesky jitter
sp = jax.nn.softplus


def inv_sp(x):
    return float(np.log(np.expm1(x)))


def neg_elbo(p, xb, yb):
    ls, os_, noise = sp(p["raw_ls"]), sp(p["raw_os"]), 1e-4 + sp(p["raw_noise"])
    Z = p["Z"]
    M = Z.shape[0]

    def k(a, b):
        a, b = a / ls, b / ls
        d2 = jnp.sum(a * a, -1)[:, None] + jnp.sum(b * b, -1)[None, :] - 2 * a @ b.T
        return os_ * jnp.exp(-0.5 * jnp.maximum(d2, 0.0))

    Kzz = k(Z, Z) + JIT * jnp.eye(M, dtype=Z.dtype)
    Lz = jnp.linalg.cholesky(Kzz)
    A = solve_triangular(Lz, k(Z, xb), lower=True)
    Ls = jnp.tril(p["chol"])
    mu = p["c"] + A.T @ p["m"]
    var = os_ + JIT - jnp.sum(A * A, 0) + jnp.sum((Ls.T @ A) ** 2, 0)
    ell = -0.5 * (jnp.log(2 * jnp.pi * noise) + ((yb - mu) ** 2 + var) / noise)
    kl = 0.5 * (jnp.sum(Ls * Ls) + p["m"] @ p["m"] - M - jnp.sum(jnp.log(jnp.diag(Ls) ** 2)))
    return -(jnp.mean(ell) - kl / N)


opt = numpyro.optim.Adam(1e-2)


@jax.jit
def step(state, xb, yb):
    loss, g = jax.value_and_grad(neg_elbo)(opt.get_params(state), xb, yb)
    return opt.update(g, state), loss


device = str(jax.devices()[0])
for M in (64, 256, 512):
    p = dict(Z=jnp.asarray(Xn[:M]), m=jnp.zeros(M, jnp.float32), chol=jnp.eye(M, dtype=jnp.float32),
             c=jnp.zeros((), jnp.float32), raw_ls=jnp.full(D, inv_sp(0.6931), jnp.float32),
             raw_os=jnp.asarray(inv_sp(0.6931), jnp.float32),
             raw_noise=jnp.asarray(inv_sp(0.6931), jnp.float32))
    idx = np.random.default_rng(0).permutation(N)[:BS]
    xb, yb = jnp.asarray(Xn[idx]), jnp.asarray(yn[idx])
    state = [opt.init(p)]

    def one():
        state[0], loss = step(state[0], xb, yb)
        return float(loss)  # the loss read back, as every peer's step does

    one(); one()
    t0 = time.perf_counter(); one(); once = time.perf_counter() - t0
    inner = int(min(1000, max(1, 0.1 / once)))
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(inner):
            one()
        times.append((time.perf_counter() - t0) / inner)
    print(json.dumps(dict(bench="svgp_step", suite="svgp", peer="jax-cuda", device=device, dtype="float32",
                          N=int(N), D=int(D), M=M, batch=BS, threads=1, median_s=statistics.median(times),
                          min_s=min(times), repeats=5, inner=inner)), flush=True)
