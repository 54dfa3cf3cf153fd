"""One NUTS runner per library, all with the same three-phase protocol.

`warmup(key)` adapts step size and diagonal mass matrix (Stan windows, 0.8
target acceptance, max tree depth 10 everywhere); `sample(key)` draws from the
post-warmup state and returns `(draws, num_steps, diverging)` with draws a dict
site -> `(chains, draws, ...)`; calling `sample` again continues the chains from
where the last call stopped (NumPyro's `post_warmup_state = last_state`).
"""

import blackjax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from blackjax.adaptation.base import get_filter_adapt_info_fn


class MCMCRunner:
    """NumPyro and sciad.probabilistic share this path: their MCMC API is the same."""

    def __init__(self, infer, model, data, cfg):
        self.data = data
        self.mcmc = infer.MCMC(
            infer.NUTS(model),
            num_warmup=cfg.warmup,
            num_samples=cfg.samples,
            num_chains=cfg.chains,
            chain_method=cfg.chain_method,
            progress_bar=False,
        )
        self.sampled = False

    # the same extra fields in both calls: sciad compiles one program per set
    FIELDS = ("num_steps", "diverging")

    def warmup(self, key):
        self.mcmc.warmup(key, extra_fields=self.FIELDS, **self.data)
        jax.block_until_ready(self.mcmc.post_warmup_state)

    def sample(self, key):
        if self.sampled:
            self.mcmc.post_warmup_state = self.mcmc.last_state
        self.mcmc.run(key, extra_fields=self.FIELDS, **self.data)
        self.sampled = True
        draws = jax.block_until_ready(self.mcmc.get_samples(group_by_chain=True))
        extra = self.mcmc.get_extra_fields(group_by_chain=True)
        draws = {k: np.asarray(v) for k, v in draws.items()}
        return draws, np.asarray(extra["num_steps"]), np.asarray(extra["diverging"])


class BlackjaxRunner:
    """`blackjax.window_adaptation` + `blackjax.nuts`, jitted by hand."""

    def __init__(self, model, data, cfg):
        logdensity, self.init_fn = model(**data)
        self.cfg = cfg
        adapt = blackjax.window_adaptation(
            blackjax.nuts,
            logdensity,
            target_acceptance_rate=0.8,
            adaptation_info_fn=get_filter_adapt_info_fn(),  # keep no warmup trace
        )

        def warm_one(key, position):
            (state, params), _ = adapt.run(key, position, num_steps=cfg.warmup)
            return state, params

        def sample_one(key, state, params):
            step = blackjax.nuts(logdensity, **params).step

            def body(st, k):
                st, info = step(k, st)
                out = (st.position, info.num_integration_steps, info.is_divergent)
                return st, out

            return jax.lax.scan(body, state, jr.split(key, cfg.samples))

        vectorized = cfg.chain_method == "vectorized"
        self.warm_fn = jax.jit(jax.vmap(warm_one) if vectorized else warm_one)
        self.sample_fn = jax.jit(jax.vmap(sample_one) if vectorized else sample_one)
        self.vectorized = vectorized

    def _per_chain(self, fn, keys, *args):
        if self.vectorized:
            return fn(keys, *args)
        outs = [
            fn(keys[c], *jax.tree.map(lambda a, c=c: a[c], args))
            for c in range(self.cfg.chains)
        ]
        return jax.tree.map(lambda *xs: jnp.stack(xs), *outs)

    def warmup(self, key):
        k_init, k_warm = jr.split(key)
        positions = jax.vmap(self.init_fn)(jr.split(k_init, self.cfg.chains))
        keys = jr.split(k_warm, self.cfg.chains)
        self.state, self.params = jax.block_until_ready(
            self._per_chain(self.warm_fn, keys, positions)
        )

    def sample(self, key):
        keys = jr.split(key, self.cfg.chains)
        state, (draws, steps, div) = jax.block_until_ready(
            self._per_chain(self.sample_fn, keys, self.state, self.params)
        )
        self.state = state
        draws = {k: np.asarray(v) for k, v in draws.items()}
        return draws, np.asarray(steps), np.asarray(div)
