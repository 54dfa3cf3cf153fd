"""QAOA for MaxCut on a small random graph, optimised with gradients.

Maximises the expected cut <C> of the depth-p QAOA state with Adam, then samples
the optimised circuit and compares the best sampled cut with brute force.
"""

import itertools
import os

import matplotlib

matplotlib.use("Agg")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import sciad.quantum as q  # noqa: E402

SMOKE = os.environ.get("SCIAD_SMOKE") == "1"
N = 5 if SMOKE else 10
DEPTH = 2 if SMOKE else 4
STEPS = 40 if SMOKE else 200


def main():
    rng = np.random.default_rng(0)
    edges = [
        (a, b) for a, b in itertools.combinations(range(N), 2) if rng.random() < 0.5
    ]
    cuts = np.array(
        [
            sum(((z >> (N - 1 - a)) & 1) != ((z >> (N - 1 - b)) & 1) for a, b in edges)
            for z in range(2**N)
        ]
    )
    loss = lambda p: -q.qaoa_maxcut(edges, N, p[0], p[1])
    p0 = jnp.stack([jnp.linspace(0.1, 0.6, DEPTH), jnp.linspace(0.6, 0.1, DEPTH)])
    res = q.vqe(loss, p0, optimizer=optax.adam(0.05), steps=STEPS)
    bits = q.sample(
        q.qaoa_circuit(edges, N, res.params[0], res.params[1]), 200, jax.random.key(1)
    )
    z = np.asarray(bits) @ (2 ** np.arange(N - 1, -1, -1))
    print(
        f"graph n={N}, |E|={len(edges)}: <cut> = {-float(res.energy):.3f}, "
        f"best sampled cut {cuts[z].max()}, optimum {cuts.max()}, "
        f"approximation ratio {-float(res.energy) / cuts.max():.3f}"
    )
    out = os.environ.get("SCIAD_OUT", os.path.join(os.path.dirname(__file__), "out"))
    os.makedirs(out, exist_ok=True)
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    ax[0].plot(-np.asarray(res.history))
    ax[0].axhline(cuts.max(), color="k", ls="--", label="max cut")
    ax[0].set_xlabel("Adam step")
    ax[0].set_ylabel("expected cut")
    ax[0].legend()
    ax[1].hist(cuts[z], bins=np.arange(cuts.max() + 2) - 0.5)
    ax[1].set_xlabel("sampled cut size")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "qaoa_maxcut.png"), dpi=120)


if __name__ == "__main__":
    main()
