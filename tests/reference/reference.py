"""Loads the reference package `soft-entropy` 0.1.5 without its torch-importing `__init__`.

The package's `__init__` imports `llm.py`, which imports torch. Its numpy code does not need torch,
so we register an empty package object and import the numpy modules directly.
Install with: pip install numpy scipy && pip install --no-deps soft-entropy==0.1.5
"""

import importlib
import importlib.util
import sys
import types


def load():
    spec = importlib.util.find_spec("soft_entropy")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("soft-entropy is not installed: pip install --no-deps soft-entropy==0.1.5")
    pkg = types.ModuleType("soft_entropy")
    pkg.__path__ = list(spec.submodule_search_locations)
    sys.modules["soft_entropy"] = pkg
    return types.SimpleNamespace(
        temp_calibration=importlib.import_module("soft_entropy.temp_calibration"),
        numpy=importlib.import_module("soft_entropy.numpy"),
        accumulator=importlib.import_module("soft_entropy.accumulator"),
    )


def encode_ngram(ids, start, end, order, V, forward):
    """The n-gram label code of the reference's llm.py `_encode_ngram`, in numpy (int64, as there):
    for each position i in [start, end), the k-gram ending at i (input) or the next k tokens
    (output), as sum t_j V^(k-1-j)."""
    import numpy as np

    ids = ids.astype(np.int64)
    if forward:
        code = ids[start + 1:end + 1]
        for k in range(2, order + 1):
            code = code * V + ids[start + k:end + k]
    else:
        code = ids[start - order + 1:end - order + 1]
        for k in range(order - 2, -1, -1):
            code = code * V + ids[start - k:end - k]
    return code
