"""Seeded synthetic data of the PPL benchmark suite (numpy only).

Written to the spec of `../shared/bench/ppl_models.py`: the same seeds and the
same numpy calls in the same order, so every array is byte-identical to the
reference and `fingerprint(...)` agrees (checked by `check_fingerprints.py`).
"""

import hashlib

import numpy as np

SEED = 20191024

EIGHT_SCHOOLS_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
EIGHT_SCHOOLS_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
HIER_TRUE = dict(mu_a=1.5, sigma_a=0.35, mu_b=-0.65, sigma_b=0.3, sigma_y=0.75)
SV_TRUE = dict(mu=-1.0, phi=0.95, sigma=0.25)

# unconstrained dimension of every model (the sampler's state size)
DIMS = {
    "eight_schools_nc": 10,
    "logreg": 55,
    "hier_linreg": 175,
    "stoch_vol": 503,
    "funnel_nc": 10,
    "funnel_c": 10,
}
ALL_MODELS = list(DIMS)


def eight_schools_data():
    return dict(J=8, y=EIGHT_SCHOOLS_Y.copy(), sigma=EIGHT_SCHOOLS_SIGMA.copy())


def logreg_data(N=50_000, D=54, seed=SEED + 1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    w_true = rng.standard_normal(D)
    b_true = rng.standard_normal()
    p = 1.0 / (1.0 + np.exp(-(X @ w_true + b_true)))
    y = (rng.random(N) < p).astype(np.int32)
    return dict(X=X, y=y, w_true=w_true, b_true=b_true)


def hier_linreg_data(G=85, N=900, seed=SEED + 2):
    rng = np.random.default_rng(seed)
    # unbalanced group sizes like radon counties; every group has >= 1 obs
    weights = rng.dirichlet(np.full(G, 0.7))
    group = np.concatenate([np.arange(G), rng.choice(G, size=N - G, p=weights)])
    rng.shuffle(group)
    x = (rng.random(N) < 0.2).astype(np.float64)
    t = HIER_TRUE
    a = t["mu_a"] + t["sigma_a"] * rng.standard_normal(G)
    b = t["mu_b"] + t["sigma_b"] * rng.standard_normal(G)
    y = a[group] + b[group] * x + t["sigma_y"] * rng.standard_normal(N)
    return dict(G=G, group=group.astype(np.int32), x=x, y=y)


def stoch_vol_data(T=500, seed=SEED + 3):
    rng = np.random.default_rng(seed)
    mu, phi, sigma = SV_TRUE["mu"], SV_TRUE["phi"], SV_TRUE["sigma"]
    h = np.empty(T)
    h[0] = mu + sigma / np.sqrt(1 - phi**2) * rng.standard_normal()
    for t in range(1, T):
        h[t] = mu + phi * (h[t - 1] - mu) + sigma * rng.standard_normal()
    y = np.exp(h / 2) * rng.standard_normal(T)
    return dict(T=T, y=y, h_true=h)


def funnel_data(D=10):
    return dict(D=D)


DATA_FNS = {
    "eight_schools_nc": eight_schools_data,
    "logreg": logreg_data,
    "hier_linreg": hier_linreg_data,
    "stoch_vol": stoch_vol_data,
    "funnel_nc": funnel_data,
    "funnel_c": funnel_data,
}


def get_data(name):
    return DATA_FNS[name]()


# what each model function receives (the generating truths are left out)
MODEL_ARGS = {
    "eight_schools_nc": ("J", "y", "sigma"),
    "logreg": ("X", "y"),
    "hier_linreg": ("G", "group", "x", "y"),
    "stoch_vol": ("y",),
    "funnel_nc": ("D",),
    "funnel_c": ("D",),
}


def model_args(name, dtype=np.float32):
    """Keyword arguments of model `name`: float arrays cast to `dtype`, ints kept."""
    data = get_data(name)
    out = {}
    for k in MODEL_ARGS[name]:
        v = data[k]
        if isinstance(v, int) or np.asarray(v).dtype.kind == "i":
            out[k] = v
        else:
            out[k] = np.asarray(v, dtype=dtype)
    if name == "logreg":
        out["y"] = out["y"].astype(dtype)  # Bernoulli observations as floats
    return out


def fingerprint(data):
    """First 12 hex digits of the SHA-256 of every array (as float64, by key)."""
    h = hashlib.sha256()
    for k in sorted(data):
        h.update(k.encode())
        h.update(np.ascontiguousarray(np.asarray(data[k], dtype=np.float64)).tobytes())
    return h.hexdigest()[:12]


if __name__ == "__main__":
    for name in ALL_MODELS:
        print(f"{name:18s} dim={DIMS[name]:4d} data={fingerprint(get_data(name))}")
