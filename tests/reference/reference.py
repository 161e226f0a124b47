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
