"""Saving, loading, checkpointing and resuming MCMC runs."""

import os
import subprocess
import sys
import textwrap
import time

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from sciad.probabilistic.infer import MCMC, NUTS, to_arviz

pytestmark = pytest.mark.filterwarnings(
    "ignore::sciad.probabilistic.infer.SamplingWarning"
)

SCALES = np.array([1.0, 2.0, 0.5])


def potential(z):
    return 0.5 * jnp.sum((z["x"] / SCALES) ** 2) + 0.5 * z["y"] ** 2


INIT = {"x": np.zeros(3), "y": np.asarray(0.5)}


def make_mcmc(num_samples=40, num_chains=1):
    return MCMC(
        NUTS(potential_fn=potential, max_tree_depth=5),
        num_warmup=30,
        num_samples=num_samples,
        num_chains=num_chains,
        progress_bar=False,
    )


@pytest.fixture(scope="module")
def finished_run():
    mcmc = make_mcmc(num_chains=2)
    mcmc.run(jr.key(3), init_params=INIT, extra_fields=("num_steps", "accept_prob"))
    return mcmc


def test_save_load_round_trip(finished_run, tmp_path):
    path = tmp_path / "run.npz"
    finished_run.save(path)
    restored = make_mcmc(num_chains=2).load(path)
    np.testing.assert_array_equal(
        restored.get_samples()["x"], finished_run.get_samples()["x"]
    )
    for name, value in finished_run.get_extra_fields().items():
        np.testing.assert_array_equal(restored.get_extra_fields()[name], value)
    a, b = restored.last_state, finished_run.last_state
    np.testing.assert_array_equal(a.z["x"], b.z["x"])
    np.testing.assert_array_equal(
        a.adapt_state.inverse_mass_matrix, b.adapt_state.inverse_mass_matrix
    )
    np.testing.assert_array_equal(a.adapt_state.step_size, b.adapt_state.step_size)
    np.testing.assert_array_equal(a.rng_key, b.rng_key)
    # the file holds no pickled objects
    with np.load(path, allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)


def test_load_refuses_an_incompatible_file(finished_run, tmp_path):
    path = tmp_path / "run.npz"
    finished_run.save(path)
    with pytest.raises(ValueError, match="holds 2 chain.*num_chains=3"):
        make_mcmc(num_chains=3).load(path)
    with pytest.raises(ValueError, match="`checkpoint_every` needs `checkpoint_path`"):
        make_mcmc().run(jr.key(0), init_params=INIT, checkpoint_every=10)
    with pytest.raises(ValueError, match="`checkpoint_every` must be an int >= 1"):
        make_mcmc().run(jr.key(0), init_params=INIT, checkpoint_path=path)
    kernel = NUTS(potential_fn=potential, dense_mass=True)
    dense = MCMC(kernel, num_warmup=1, num_samples=1, num_chains=2)
    with pytest.raises(ValueError, match="diagonal mass matrix.*dense_mass=True"):
        dense.load(path)


def test_loads_a_version_1_file(finished_run, tmp_path):
    # version 1 states had no running `mean_accept_prob`: it restarts at zero
    import json

    path, old = tmp_path / "run.npz", tmp_path / "v1.npz"
    finished_run.save(path)
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if "mean_accept_prob" not in k}
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.asarray(json.dumps({**meta, "version": 1}))
    np.savez(old, **arrays)
    restored = make_mcmc(num_chains=2).load(old)
    np.testing.assert_array_equal(restored.last_state.mean_accept_prob, [0.0, 0.0])
    np.testing.assert_array_equal(
        restored.last_state.z["x"], finished_run.last_state.z["x"]
    )
    arrays["meta"] = np.asarray(json.dumps({**meta, "version": 7}))
    np.savez(old, **arrays)
    with pytest.raises(ValueError, match="format version 7"):
        make_mcmc(num_chains=2).load(old)


def test_continue_from_loaded_state_matches(finished_run, tmp_path):
    # (loads into the same object, so its compiled program is reused)
    path = tmp_path / "run.npz"
    fields = ("num_steps", "accept_prob")
    finished_run.save(path)
    finished_run.post_warmup_state = finished_run.last_state
    finished_run.run(jr.key(0), init_params=INIT, extra_fields=fields)
    direct = finished_run.get_samples()["x"]
    finished_run.load(path)
    finished_run.post_warmup_state = finished_run.last_state
    finished_run.run(jr.key(99), init_params=INIT, extra_fields=fields)
    finished_run.post_warmup_state = None
    np.testing.assert_array_equal(finished_run.get_samples()["x"], direct)


def test_to_arviz(finished_run):
    idata = to_arviz(finished_run)
    assert idata.posterior["x"].shape == (2, 40, 3)
    assert "diverging" in idata.sample_stats
    assert "acceptance_rate" in idata.sample_stats


SCRIPT = textwrap.dedent(
    """
    import sys, time
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.random as jr
    sys.path.insert(0, {testdir!r})
    import sciad.probabilistic.infer._mcmc_io as io
    from test_mcmc_io import INIT, make_mcmc

    save = io.save

    def slow_save(*args, **kwargs):  # widen the window in which we get killed
        save(*args, **kwargs)
        time.sleep(0.3)

    io.save = slow_save
    make_mcmc().run(jr.key(7), init_params=INIT, checkpoint_path={path!r},
                    checkpoint_every=4)
    """
)


def _draws_done(path):
    import json

    try:
        with np.load(path, allow_pickle=False) as data:
            return json.loads(str(data["meta"]))["draws_done"]
    except (OSError, KeyError, ValueError):
        return -1


def test_checkpointed_run_resumes_after_kill(tmp_path):
    killed = str(tmp_path / "killed.npz")
    script = SCRIPT.format(testdir=os.path.dirname(__file__), path=killed)
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 240
        while not 0 < _draws_done(killed) < 40:
            assert proc.poll() is None, "checkpointing subprocess exited early"
            assert time.time() < deadline, "no checkpoint written in time"
            time.sleep(0.02)
    finally:
        proc.kill()
        proc.wait()
    done = _draws_done(killed)
    assert 0 < done < 40
    assert not os.path.exists(killed + ".tmp") or _draws_done(killed) == done

    mcmc = make_mcmc()  # one object: its compiled programs are reused below
    fresh = str(tmp_path / "fresh.npz")
    mcmc.run(jr.key(7), init_params=INIT, checkpoint_path=fresh, checkpoint_every=4)
    reference = mcmc.get_samples()["x"], mcmc.get_extra_fields()["energy"]

    mcmc.run(jr.key(7), init_params=INIT, checkpoint_path=killed, checkpoint_every=4)
    resumed = mcmc.get_samples()["x"]
    assert resumed.shape == (40, 3)
    np.testing.assert_array_equal(resumed, reference[0])
    np.testing.assert_array_equal(mcmc.get_extra_fields()["energy"], reference[1])

    # segmenting does not change the draws: an unsegmented run gives the same
    mcmc.run(jr.key(7), init_params=INIT)
    np.testing.assert_allclose(mcmc.get_samples()["x"], resumed, rtol=1e-10, atol=1e-12)


def test_checkpointed_thinned_run_matches_an_unsegmented_one(tmp_path):
    # the `num_samples % thinning` discarded iterations come once, before the
    # first segment, as they come before the first draw of an unsegmented run
    mcmc = MCMC(
        NUTS(potential_fn=potential, max_tree_depth=5),
        num_warmup=30,
        num_samples=20,
        thinning=3,
        progress_bar=False,
    )
    fields = ("i",)
    mcmc.run(jr.key(5), init_params=INIT, extra_fields=fields)
    direct, direct_i = mcmc.get_samples()["x"], mcmc.get_extra_fields()["i"]
    np.testing.assert_array_equal(direct_i, 30 + 2 + 3 * np.arange(1, 7))
    path = str(tmp_path / "thinned.npz")
    mcmc.run(
        jr.key(5),
        init_params=INIT,
        extra_fields=fields,
        checkpoint_path=path,
        checkpoint_every=4,
    )
    np.testing.assert_array_equal(mcmc.get_extra_fields()["i"], direct_i)
    np.testing.assert_allclose(mcmc.get_samples()["x"], direct, rtol=1e-10, atol=1e-12)
