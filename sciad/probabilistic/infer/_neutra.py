r"""`NeuTraReparam`: HMC in the coordinates of a fitted flat guide (NumPyro's).

A fitted :class:`AutoContinuous` guide is a bijection $u = T_\phi(z)$ from a
standard Normal $z \in \mathbb{R}^D$ to the model's unconstrained latents $u$.
When the guide is good, the posterior pulled back to $z$,

.. math::
    \pi(z) \propto p\big(x(u)\big)\,\big|\det J_x(u)\big|\,\big|\det J_T(z)\big|,
    \qquad u = T_\phi(z),

is close to $\mathcal{N}(0, I)$: HMC then runs on a whitened, nearly isotropic
target (no correlations or scale differences for the mass matrix to learn).

References:
    M. Hoffman, P. Sountsov, J. V. Dillon, I. Langmore, D. Tran, S. Vasudevan,
    "NeuTra-lizing Bad Geometry in Hamiltonian Monte Carlo Using Neural
    Transport", arXiv:1903.03704 (2019).
"""

from collections.abc import Callable

import jax.numpy as jnp

from .._primitives import factor, sample
from ..distributions._transform_base import _sum_rightmost
from ..distributions.transforms import biject_to
from ..handlers import reparam
from ..reparam import Reparam
from ._autoguide_continuous import AutoContinuous


class NeuTraReparam(Reparam):
    """Reparametrise every latent site of a guide's model through the guide.

    Args:
        guide: a fitted :class:`AutoContinuous` guide (``AutoDiagonalNormal``,
            ``AutoMultivariateNormal``, ``AutoLowRankMultivariateNormal``), set up
            on the model (``SVI.init`` or ``SVI.run`` has run).
        params: its fitted params (``svi.get_params(state)`` or
            ``result.params``).

    ``neutra.reparam(model)`` returns the model with one latent site
    ``{prefix}_shared_latent`` (the standard Normal $z$, its own density masked
    out) in place of the guide's sites, each now deterministic, plus a factor
    per site carrying its log-density and log-Jacobians; sample it with NUTS,
    then map draws of the shared latent back with ``transform_sample``::

        neutra = NeuTraReparam(guide, result.params)
        mcmc = MCMC(NUTS(neutra.reparam(model)), num_warmup=500, num_samples=500)
        mcmc.run(key, data)
        z = mcmc.get_samples()["auto_shared_latent"]
        draws = neutra.transform_sample(z)
    """

    def __init__(self, guide: AutoContinuous, params: dict):
        if not isinstance(guide, AutoContinuous):
            raise TypeError(
                "NeuTraReparam: `guide` must be an AutoContinuous guide "
                "(AutoDiagonalNormal, AutoMultivariateNormal, ...); got "
                f"{type(guide).__name__}"
            )
        guide._require_setup("NeuTraReparam")
        self.guide = guide
        self.params = params
        self.transform = guide.get_transform(params)
        self._pending = {}  # the current run's unconstrained latents, by site

    def _config(self, site):
        if site["name"] in self.guide._sites and not site["is_observed"]:
            return self
        return None

    def reparam(self, fn: Callable | None = None):
        """The model with the shared latent in place of the guide's sites.

        The shared latent and the flow's log-Jacobian are emitted before the
        model runs, outside its plates (a site in a plate could not carry the
        whole vector); each guide site then takes its slice of the flow's image.
        """
        if fn is None:
            return lambda f: self.reparam(f)
        inner = reparam(fn, config=self._config)
        prefix = self.guide.prefix

        def model(*args, **kwargs):
            base = self.guide.get_base_dist().mask(False)
            z = sample(f"{prefix}_shared_latent", base)
            u = self.transform(z)
            ladj = self.transform.log_abs_det_jacobian(z, u)
            factor(f"_{prefix}_shared_latent_log_det", ladj)
            self._pending = dict(self.guide._unravel(u))
            try:
                out = inner(*args, **kwargs)
                left = sorted(self._pending)
            finally:
                self._pending = {}
            if left:
                raise ValueError(
                    f"NeuTraReparam: the guide's site(s) {left} did not appear in "
                    "this run of the model; run it with the arguments the guide "
                    "was set up with."
                )
            return out

        return model

    def __call__(self, name, fn, obs):
        self._latent_only("NeuTraReparam", name, obs)
        if name not in self._pending:
            raise ValueError(
                f"NeuTraReparam at site '{name}': no shared latent in this run; "
                "wrap the model with `neutra.reparam(model)` (not "
                "handlers.reparam), and let each site appear once."
            )
        u = self._pending.pop(name)
        bijection = biject_to(fn.support)
        value = bijection(u)
        ladj = bijection.log_abs_det_jacobian(u, value)
        ladj = _sum_rightmost(ladj, jnp.ndim(ladj) - jnp.ndim(value) + fn.event_dim)
        factor(f"_{name}_log_prob", fn.log_prob(value) + ladj)
        return None, value

    def transform_sample(self, latent) -> dict:
        """Constrained draws of the guide's sites from draws of the shared latent."""
        return self.guide._unpack_and_constrain(self.transform(latent), self.params)
