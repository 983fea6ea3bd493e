"""Every numba function of apc is cached on disk, so first use is not counted as fit time."""

import importlib
import pkgutil

import pytest

import apc


def _dispatchers():
    numba = pytest.importorskip("numba")
    from numba.core.registry import CPUDispatcher

    found = []
    for info in pkgutil.walk_packages(apc.__path__, "apc."):
        src = importlib.util.find_spec(info.name)
        text = open(src.origin, encoding="utf-8").read() if src and src.origin else ""
        if "numba" not in text or info.name.endswith("__main__"):
            continue
        mod = importlib.import_module(info.name)
        for name, obj in vars(mod).items():
            if isinstance(obj, CPUDispatcher):
                found.append((f"{info.name}.{name}", obj))
    assert numba is not None
    return found


def test_every_numba_function_is_cached():
    found = _dispatchers()
    assert found, "no numba function found in apc (the scan is broken)"
    from numba.core.caching import NullCache

    uncached = [name for name, d in found if isinstance(d._cache, NullCache)]
    assert not uncached, f"numba functions without cache=True: {uncached}"
