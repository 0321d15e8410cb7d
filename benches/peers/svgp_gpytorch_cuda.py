"""GPyTorch SVGP training step on CUDA at the svgp suite's sizes (same model as bench_peers.py's
svgp_gpytorch, moved to the GPU). JSON lines like bench_peers.py."""
import json, statistics, sys, time
import numpy as np
import torch, gpytorch

data = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, dtype=np.float32)
dev = torch.device("cuda")
X, y = torch.tensor(data[:, :-1], device=dev), torch.tensor(data[:, -1], device=dev)
N, D = X.shape
BS = 256

class SVGP(gpytorch.models.ApproximateGP):
    def __init__(self, Z):
        vd = gpytorch.variational.CholeskyVariationalDistribution(Z.size(0))
        vs = gpytorch.variational.VariationalStrategy(self, Z, vd, learn_inducing_locations=True)
        super().__init__(vs)
        self.mean_module = gpytorch.means.ConstantMean()
        self.covar_module = gpytorch.kernels.ScaleKernel(gpytorch.kernels.RBFKernel(ard_num_dims=D))
    def forward(self, x):
        return gpytorch.distributions.MultivariateNormal(self.mean_module(x), self.covar_module(x))

for M in (64, 256, 512):
    torch.manual_seed(0)
    model = SVGP(X[:M].clone()).to(dev)
    lik = gpytorch.likelihoods.GaussianLikelihood().to(dev)
    model.train(); lik.train()
    opt = torch.optim.Adam(list(model.parameters()) + list(lik.parameters()), lr=1e-2)
    mll = gpytorch.mlls.VariationalELBO(lik, model, num_data=N)
    idx = torch.randperm(N, device=dev)[:BS]
    def step():
        opt.zero_grad(set_to_none=True)
        loss = -mll(model(X[idx]), y[idx])
        loss.backward(); opt.step()
        return loss.item()
    step(); step()
    t0 = time.perf_counter(); step(); once = time.perf_counter() - t0
    inner = int(min(1000, max(1, 0.1 / once)))
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(inner):
            step()
        times.append((time.perf_counter() - t0) / inner)
    print(json.dumps(dict(bench="svgp_step", suite="svgp", peer="gpytorch-cuda", device=torch.cuda.get_device_name(0),
        dtype="float32", N=int(N), D=int(D), M=M, batch=BS, threads=1, median_s=statistics.median(times),
        min_s=min(times), repeats=5, inner=inner)), flush=True)
