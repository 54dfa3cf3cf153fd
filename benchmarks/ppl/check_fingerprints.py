"""Assert that `data.py` reproduces the shared reference data byte for byte.

Run from anywhere: `python benchmarks/ppl/check_fingerprints.py`. The reference
`ppl_models.py` lives in `../shared/bench/` next to the project root.
"""

import importlib.util
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402

REFERENCE = HERE.parents[2] / "shared" / "bench" / "ppl_models.py"


def load_reference():
    spec = importlib.util.spec_from_file_location("ppl_models", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    ref = load_reference()
    assert list(ref.MODEL_SPECS) == data.ALL_MODELS
    for name in data.ALL_MODELS:
        ours = data.fingerprint(data.get_data(name))
        theirs = ref.fingerprint(ref.get_data(name))
        assert ours == theirs, (name, ours, theirs)
        assert ref.MODEL_SPECS[name]["dim"] == data.DIMS[name], name
        print(f"{name:18s} {ours} == {theirs}")
    print("all fingerprints match")


if __name__ == "__main__":
    main()
