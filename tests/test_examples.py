"""Smoke test: every script in examples/ runs end to end at reduced size.

Each example honours ``SCIAD_SMOKE=1`` (tiny problem) and ``SCIAD_OUT`` (where
its figure goes); here it must exit 0, print something and save a PNG.
"""

import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    env = dict(os.environ, SCIAD_SMOKE="1", SCIAD_OUT=str(tmp_path), MPLBACKEND="Agg")
    env.pop("XLA_FLAGS", None)  # examples run as a user would: one CPU device
    result = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert result.stdout.strip(), "example printed nothing"
    assert list(tmp_path.glob("*.png")), "example saved no figure"
