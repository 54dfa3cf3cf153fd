"""`AutoGuideList`: one guide made of several, each for some of the latent sites."""

import math
from collections.abc import Callable

import jax
import jax.random as jr

from ..handlers import seed, substitute, trace
from ._autoguide_base import AutoGuide
from ._init_strategies import init_to_uniform


class AutoGuideList(AutoGuide):
    """Several guides, each covering a disjoint part of the model (NumPyro's).

    Each part is an autoguide built on the model with the other parts' sites
    hidden by :class:`~sciad.probabilistic.handlers.block`, or a custom guide
    function::

        guide = AutoGuideList(model)
        guide.append(AutoNormal(handlers.block(model, hide=["coefs"])))
        guide.append(AutoDelta(handlers.block(model, expose=["coefs"])))
        svi = SVI(model, guide, optax.adam(1e-2), Trace_ELBO())

    Calling the list calls every part and returns their samples together. On
    the first call it checks that no two parts emit the same ``sample`` or
    ``param`` site (give flat guides distinct ``prefix`` es) and that no part
    exposes a ``deterministic`` site (it would be computed from the sites that
    part's model hides, which are drawn from their prior there: block it).
    ``sample_posterior`` draws each part with its own key (NumPyro reuses one
    key for all parts); a custom part is run with ``params`` substituted.
    ``median`` and ``quantiles`` need autoguide parts.

    Args:
        model: the model (used for nothing but the guide's signature, as in
            NumPyro: the parts carry their own blocked models).
        prefix, init_loc_fn, create_plates: accepted for NumPyro's signature;
            the parts use their own.
    """

    def __init__(
        self,
        model: Callable,
        *,
        prefix: str = "auto",
        init_loc_fn: Callable = init_to_uniform,
        create_plates: Callable | None = None,
    ):
        super().__init__(
            model, prefix=prefix, init_loc_fn=init_loc_fn, create_plates=create_plates
        )
        self._guides = []
        self._checked = False

    def append(self, part) -> None:
        """Add an autoguide (or a guide function) for part of the model's sites."""
        if part is self or not callable(part):
            raise TypeError(
                f"AutoGuideList.append: a part must be an autoguide or a guide "
                f"function; got {part!r}"
            )
        self._guides.append(part)
        self._checked = False

    def __getitem__(self, index):
        return self._guides[index]

    def __len__(self):
        return len(self._guides)

    def __iter__(self):
        return iter(self._guides)

    def __call__(self, *args, **kwargs) -> dict:
        if not self._guides:
            raise ValueError("AutoGuideList: no parts; append guides before use.")
        result, owner = {}, {}
        for i, part in enumerate(self._guides):
            with trace() as tr:
                part(*args, **kwargs)  # a guide function may return nothing
            result.update(
                (name, site["value"])
                for name, site in tr.items()
                if site["type"] == "sample" and not site["is_observed"]
            )
            if self._checked:
                continue
            for name, site in tr.items():
                if site["type"] not in ("sample", "param"):
                    continue
                if name in owner:
                    raise ValueError(
                        f"AutoGuideList: {site['type']} site '{name}' is emitted by "
                        f"part {owner[name]} and part {i} ({_label(part)}); block "
                        "each part's model to its own sites, and give flat guides "
                        "distinct `prefix`es."
                    )
                owner[name] = i
            self._check_no_deterministic(i, part)
        self._checked = True
        return result

    def _setup_prototype(self, *args, **kwargs):
        # `SVI.init` sets autoguides up before its compiled first trace
        for part in self._guides:
            if isinstance(part, AutoGuide) and part._sites is None:
                part._setup_prototype(*args, **kwargs)

    @staticmethod
    def _check_no_deterministic(i, part):
        prototype = getattr(part, "prototype_trace", None) or {}
        for name, site in prototype.items():
            if site["type"] == "deterministic":
                raise ValueError(
                    f"AutoGuideList: deterministic site '{name}' is exposed in part "
                    f"{i} ({_label(part)}); hide it from that part's model with "
                    f"handlers.block(..., hide=['{name}'])."
                )

    @property
    def _sites(self):
        """Latent sites of all autoguide parts (None until each is set up)."""
        sites = {}
        for part in self._guides:
            if isinstance(part, AutoGuide):
                if part._sites is None:
                    return None
                sites.update(part._sites)
        return sites if self._guides else None

    @_sites.setter
    def _sites(self, value):
        pass  # the base class's __init__ sets it; the parts own their sites

    def sample_posterior(
        self, rng_key, params: dict, *args, sample_shape=(), **kwargs
    ) -> dict:
        self._require_setup("sample_posterior")
        keys = jr.split(rng_key, len(self._guides))
        result = {}
        for key, part in zip(keys, self._guides, strict=True):
            if isinstance(part, AutoGuide):
                draws = part.sample_posterior(
                    key, params, *args, sample_shape=sample_shape, **kwargs
                )
            else:
                draws = _custom_draws(part, key, params, sample_shape, args, kwargs)
            result.update(draws)
        return result

    def median(self, params: dict) -> dict:
        return self._merge("median", lambda part: part.median(params))

    def quantiles(self, params: dict, quantiles) -> dict:
        return self._merge("quantiles", lambda part: part.quantiles(params, quantiles))

    def _merge(self, method: str, call) -> dict:
        self._require_setup(method)
        result = {}
        for i, part in enumerate(self._guides):
            if not isinstance(part, AutoGuide):
                raise NotImplementedError(
                    f"AutoGuideList.{method}: part {i} ({_label(part)}) is not an "
                    "autoguide; use sample_posterior."
                )
            result.update(call(part))
        return result


def _label(part) -> str:
    return type(part).__name__ if isinstance(part, AutoGuide) else repr(part)


def _custom_draws(part, key, params, sample_shape, args, kwargs) -> dict:
    """A guide function's latent draws, `sample_shape` of them, at `params`."""
    guide = substitute(part, data=params)

    def one(k):
        tr = trace(seed(guide, rng_seed=k)).get_trace(*args, **kwargs)
        return {
            name: site["value"]
            for name, site in tr.items()
            if site["type"] == "sample" and not site["is_observed"]
        }

    shape = tuple(sample_shape)
    n = math.prod(shape)
    draws = jax.vmap(one)(jr.split(key, n))
    return jax.tree.map(lambda x: x.reshape(shape + x.shape[1:]), draws)
