"""markov: enumerated hidden Markov models against the forward algorithm."""

import functools

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.stats as st
from scipy.special import logsumexp

import sciad.probabilistic as spp
from sciad.probabilistic import dist, handlers
from sciad.probabilistic.infer import MCMC, NUTS, infer_discrete, log_density

TRANS = np.array([[0.8, 0.15, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])
LOCS = np.array([-2.0, 0.0, 2.0])
T = 30


def _simulate():
    rng = np.random.default_rng(0)
    x, ys = 0, []
    for _ in range(T):
        x = rng.choice(3, p=TRANS[x])
        ys.append(rng.normal(LOCS[x], 1.0))
    return np.array(ys)


Y = _simulate()


def hmm(y, locs=LOCS, steps=spp.markov):
    x = 0
    for t in steps(range(len(y))):
        x = spp.sample(
            f"x_{t}",
            dist.Categorical(jnp.asarray(TRANS)[x]),
            infer={"enumerate": "parallel"},
        )
        spp.sample(f"y_{t}", dist.Normal(jnp.asarray(locs)[x], 1.0), obs=y[t])


def _emissions(y, locs):
    return st.norm(np.asarray(locs)[None, :], 1.0).logpdf(np.asarray(y)[:, None])


def forward_backward(y, locs=LOCS):
    """log p(y) and the smoothing marginals p(x_t | y), in NumPy."""
    log_e, log_a = _emissions(y, locs), np.log(TRANS)
    alpha = np.zeros((len(y), 3))
    alpha[0] = log_a[0] + log_e[0]
    for t in range(1, len(y)):
        alpha[t] = logsumexp(alpha[t - 1][:, None] + log_a, axis=0) + log_e[t]
    beta = np.zeros((len(y), 3))
    for t in range(len(y) - 2, -1, -1):
        beta[t] = logsumexp(log_a + (log_e[t + 1] + beta[t + 1])[None, :], axis=1)
    log_z = logsumexp(alpha[-1])
    return log_z, np.exp(alpha + beta - log_z)


def viterbi(y):
    log_e, log_a = _emissions(y, LOCS), np.log(TRANS)
    score, back = log_a[0] + log_e[0], []
    for t in range(1, len(y)):
        cand = score[:, None] + log_a
        back.append(np.argmax(cand, axis=0))
        score = np.max(cand, axis=0) + log_e[t]
    path = [int(np.argmax(score))]
    for b in reversed(back):
        path.append(int(b[path[-1]]))
    return np.array(path[::-1])


def _log_density_and_dims(model, y):
    """log p(y), jitted (op by op, 30 steps take seconds), and the enum dims."""
    dims = {}

    def run(y):
        lp, tr = log_density(model, (y,), {}, {})
        for name, site in tr.items():  # Python ints, read while tracing
            if "_enumerate_dim" in site["infer"]:
                dims[name] = site["infer"]["_enumerate_dim"]
        return lp

    return jax.jit(run)(y), dims


def test_markov_chain_is_the_forward_algorithm():
    got, dims = _log_density_and_dims(hmm, Y)
    log_z, _ = forward_backward(Y)
    np.testing.assert_allclose(got, log_z, rtol=1e-10)
    # history 1: two dims, recycled every other step (no plates: -1 and -2)
    assert [dims[f"x_{t}"] for t in range(T)] == [-1, -2] * (T // 2)
    # without markov every step gets a dim of its own (3**8 entries, fine)
    short = Y[:8]
    plain, dims = _log_density_and_dims(functools.partial(hmm, steps=iter), short)
    np.testing.assert_allclose(plain, forward_backward(short)[0], rtol=1e-10)
    assert dims["x_7"] == -8


def test_infer_discrete_on_a_chain_is_viterbi_and_smoothing():
    path = handlers.trace(infer_discrete(hmm, temperature=0)).get_trace(Y)
    np.testing.assert_array_equal(
        [path[f"x_{t}"]["value"] for t in range(T)], viterbi(Y)
    )

    @jax.jit
    def draws(keys):
        def one(key):
            tr = handlers.trace(infer_discrete(hmm, rng_key=key)).get_trace(Y)
            return jnp.stack([tr[f"x_{t}"]["value"] for t in range(T)])

        return jax.vmap(one)(keys)

    n = 2000
    x = np.asarray(draws(jr.split(jr.key(0), n)))
    freq = np.stack([(x == k).mean(0) for k in range(3)], axis=1)
    _, marginals = forward_backward(Y)
    # binomial standard error <= 0.5 / sqrt(n) per cell; 5 of them
    np.testing.assert_allclose(freq, marginals, atol=5 * 0.5 / np.sqrt(n))


def hmm_unknown_locs(y):
    locs = spp.sample("locs", dist.Normal(jnp.array([-2.0, 0.0, 2.0]), 0.5).to_event(1))
    hmm(y, locs)


# one chain: its split R-hat passes 1.01 by chance now and then; the test
# compares the draws with the exact posterior instead
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:R-hat > 1.01")
def test_nuts_on_an_enumerated_hmm_matches_a_grid_posterior():
    """The middle state's location, the others fixed at their truth."""

    def model(y):
        mid = spp.sample("mid", dist.Normal(0.0, 0.5))
        hmm(y, jnp.array([-2.0, 0.0, 2.0]) + jnp.array([0.0, 1.0, 0.0]) * mid)

    mcmc = MCMC(NUTS(model), num_warmup=300, num_samples=1000, progress_bar=False)
    mcmc.run(jr.key(1), Y)
    draws = np.asarray(mcmc.get_samples()["mid"])
    # the exact posterior on a grid: prior times the forward algorithm
    grid = np.linspace(-2.0, 2.0, 801)
    log_post = np.array(
        [forward_backward(Y, LOCS + [0.0, m, 0.0])[0] for m in grid]
    ) + st.norm(0.0, 0.5).logpdf(grid)
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    mean = np.sum(w * grid)
    sd = np.sqrt(np.sum(w * (grid - mean) ** 2))
    ess = 300  # conservative for 1000 NUTS draws of one parameter
    assert abs(draws.mean() - mean) < 5 * sd / np.sqrt(ess)
    assert abs(draws.std() / sd - 1) < 0.2


def test_markov_arguments_are_checked():
    with pytest.raises(ValueError, match="history"):
        list(spp.markov(range(3), history=0))
    with pytest.raises(TypeError, match="wrap the loop's iterable"):
        spp.markov(hmm)
    # outside enumeration it is a plain iterator
    assert list(spp.markov(range(4))) == [0, 1, 2, 3]


def batched_hmm(ys):
    """Independent sequences in a plate, each a chain over the columns."""
    with spp.plate("seqs", ys.shape[0]):
        x = 0
        for t in spp.markov(range(ys.shape[1])):
            x = spp.sample(
                f"x_{t}",
                dist.Categorical(jnp.asarray(TRANS)[x]),
                infer={"enumerate": "parallel"},
            )
            spp.sample(f"y_{t}", dist.Normal(jnp.asarray(LOCS)[x], 1.0), obs=ys[:, t])


def test_markov_chains_inside_a_plate():
    ys = np.stack([Y[:10], Y[10:20], Y[20:30]])
    got, dims = _log_density_and_dims(batched_hmm, ys)
    expected = sum(forward_backward(row)[0] for row in ys)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert [dims[f"x_{t}"] for t in range(4)] == [-2, -3, -2, -3]
    path = handlers.trace(infer_discrete(batched_hmm, temperature=0)).get_trace(ys)
    best = np.stack([path[f"x_{t}"]["value"] for t in range(10)], axis=1)
    np.testing.assert_array_equal(best, np.stack([viterbi(row) for row in ys]))
