"""torchsde training steps for the same neural SDE (peer in `bench_training_step`)."""

import torch
import torchsde

D, WIDTH, DEPTH, BATCH, T1 = 4, 32, 2, 256, 1.0


class LipSwish(torch.nn.Module):
    def forward(self, x):
        return 0.909 * torch.nn.functional.silu(x)


def _mlp():
    layers, width_in = [], D
    for _ in range(DEPTH):
        layers += [torch.nn.Linear(width_in, WIDTH), LipSwish()]
        width_in = WIDTH
    return torch.nn.Sequential(*layers, torch.nn.Linear(width_in, D))


class NeuralSDE(torch.nn.Module):
    noise_type = "diagonal"
    sde_type = "ito"

    def __init__(self):
        super().__init__()
        self.drift_net, self.diffusion_net = _mlp(), _mlp()

    def f(self, t, y):
        return self.drift_net(y)

    def g(self, t, y):
        return torch.nn.functional.softplus(self.diffusion_net(y))


def _moment_loss(ys, data):
    # ys: (T, B, D) as returned by torchsde; data: (B, T, D).
    ys = ys.transpose(0, 1)
    mean_s, mean_d = ys.mean(0), data.mean(0)
    var_s = ((ys - mean_s) ** 2).mean(0)
    var_d = ((data - mean_d) ** 2).mean(0)
    return ((mean_s - mean_d) ** 2).mean() + ((var_s - var_d) ** 2).mean()


def make_step(n_steps, data, *, adjoint):
    """One training step (loss + backward + Adam) of torchsde Euler-Maruyama."""
    torch.manual_seed(0)
    sde = NeuralSDE()
    opt = torch.optim.Adam(sde.parameters(), lr=1e-3)
    ts = torch.linspace(0.0, T1, data.shape[1])
    dt = T1 / n_steps
    y0 = torch.zeros(BATCH, D)
    solve = torchsde.sdeint_adjoint if adjoint else torchsde.sdeint
    kwargs = dict(adjoint_method="euler") if adjoint else {}

    def step(seed):
        # Explicit BrownianInterval with the solver's dt: its default Brownian
        # motion (no dt hint) is ~30x slower.
        bm = torchsde.BrownianInterval(
            t0=0.0, t1=T1, size=(BATCH, D), dt=dt, entropy=seed,
            levy_area_approximation="none",
        )  # fmt: skip
        opt.zero_grad()
        ys = solve(sde, y0, ts, method="euler", dt=dt, bm=bm, **kwargs)
        loss = _moment_loss(ys, data)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step
