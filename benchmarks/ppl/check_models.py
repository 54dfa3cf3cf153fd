"""Check that the three implementations of every model have the same density.

In float64 at three random unconstrained points, NumPyro's and sciad's
potentials and minus BlackJAX's hand-written log density must agree exactly
(the hand-written densities keep every normalising constant), and the AR(1)
scan of the stochastic-volatility model must equal the reference loop.

    python benchmarks/ppl/check_models.py
"""

import pathlib
import sys

import jax
import jax.random as jr
import numpy as np

jax.config.update("jax_enable_x64", True)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import data  # noqa: E402
import models_blackjax  # noqa: E402
import models_numpyro  # noqa: E402
import models_sciad  # noqa: E402
from check_fingerprints import load_reference  # noqa: E402
from models_ppl import ar1_latent  # noqa: E402
from numpyro.infer.util import initialize_model as numpyro_init  # noqa: E402

from sciad.probabilistic.infer import initialize_model as sciad_init  # noqa: E402


def main():
    h_std = np.random.default_rng(0).standard_normal(50)
    ours = np.asarray(ar1_latent(jax.numpy.asarray(h_std), -1.0, 0.9, 0.3))
    ref = load_reference().sv_latent_reference(h_std, -1.0, 0.9, 0.3)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    for name in data.ALL_MODELS:
        args = data.model_args(name, np.float64)
        key = jr.PRNGKey(0)
        pot_np = numpyro_init(key, models_numpyro.MODELS[name], model_kwargs=args)
        pot_sc = sciad_init(key, models_sciad.MODELS[name], model_kwargs=args)
        logdensity, init = models_blackjax.MODELS[name](**args)
        for seed in range(3):
            p = init(jr.PRNGKey(seed))
            a = float(pot_np.potential_fn(p))
            b = float(pot_sc.potential_fn(p))
            c = -float(logdensity(p))
            np.testing.assert_allclose([b, c], [a, a], rtol=1e-12, err_msg=name)
        dim = sum(np.size(v) for v in p.values())
        assert dim == data.DIMS[name], (name, dim)
        print(f"{name:18s} dim {dim:4d}: potentials agree (e.g. {a:.6f})")
    print("all models agree")


if __name__ == "__main__":
    main()
