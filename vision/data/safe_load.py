"""Reading files as data, never as code.

A pickle can name any Python callable and have the unpickler call it: loading a planted file runs
the planter's code. Two readers here refuse that:

    load_checkpoint(path)   ``torch.load(weights_only=True)``: tensors, numbers, strings, lists, dicts,
                            tuples, and NumPy arrays/scalars (their four reconstructors are allowed);
                            any other global raises ``UnsafeCheckpointError``
    load_pickle(file)       a plain pickle (CIFAR-10's batches) through an unpickler whose only allowed
                            globals are the same NumPy reconstructors; anything else raises
                            ``pickle.UnpicklingError`` before it is called

``check_plain(obj)`` names the first value that such a loader would refuse, so that a writer can
refuse it at save time rather than produce a file nobody can read back.
"""
from __future__ import annotations

import io
import re
import warnings
import pickle
from collections import OrderedDict, deque

import numpy as np
import torch

__all__ = ["load_checkpoint", "load_pickle", "check_plain", "UnsafeCheckpointError", "NUMPY_GLOBALS"]

_reconstruct = np._core.multiarray._reconstruct
_scalar = np._core.multiarray.scalar

# What a pickled NumPy array or scalar names: these build arrays from bytes and call nothing else.
# NumPy 1.x wrote the same functions under numpy.core (the aliases let its files load).
# Each dtype has its own class (numpy.dtypes.Float32DType...); the object dtype is left out.
_DTYPES = [t for t in vars(np.dtypes).values()
           if isinstance(t, type) and issubclass(t, np.dtype) and t is not np.dtypes.ObjectDType]
NUMPY_GLOBALS = [_reconstruct, np.ndarray, np.dtype, _scalar, *_DTYPES,
                 (_reconstruct, "numpy.core.multiarray._reconstruct"), (_scalar, "numpy.core.multiarray.scalar")]
_PICKLE_ALLOWED = {("numpy._core.multiarray", "_reconstruct"): _reconstruct,
                   ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
                   ("numpy._core.multiarray", "scalar"): _scalar,
                   ("numpy.core.multiarray", "scalar"): _scalar,
                   ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}


class UnsafeCheckpointError(pickle.UnpicklingError):
    """The file names Python objects beyond plain data: loading it could run code, so it was not loaded."""


def load_checkpoint(f, map_location="cpu"):
    """``torch.load(f, weights_only=True)`` with NumPy arrays allowed; refuses every other global."""
    try:
        with torch.serialization.safe_globals(NUMPY_GLOBALS), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # e.g. "Detected pickle protocol 4": the error says it all
            return torch.load(f, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        msg = str(e)
        found = re.search(r"GLOBAL (\S+)|but got (<[^>]+>)", msg)
        if "Weights only load failed" not in msg or not found:
            raise  # not a refused object: a corrupt file
        what = found.group(1) or found.group(2)
        raise UnsafeCheckpointError(f"it names {what}, not plain data") from None


class _DataUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _PICKLE_ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused global {module}.{name}: only NumPy arrays are allowed") from None


def load_pickle(f, encoding: str = "bytes"):
    """Unpickle plain data (builtins and NumPy arrays) from a binary file object or bytes."""
    if isinstance(f, (bytes, bytearray)):
        f = io.BytesIO(f)
    return _DataUnpickler(f, encoding=encoding).load()


_SCALARS = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device)


def check_plain(obj, where: str = "checkpoint") -> None:
    """Raise TypeError naming the first value under ``obj`` that is not plain data."""
    if isinstance(obj, _SCALARS) or isinstance(obj, torch.Tensor):
        return
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise TypeError(f"{where} is a NumPy array of Python objects, not plain data")
        return
    if isinstance(obj, np.generic):
        if isinstance(obj, np.object_):
            raise TypeError(f"{where} is a NumPy object scalar, not plain data")
        return
    if type(obj) in (list, tuple, torch.Size):
        for i, v in enumerate(obj):
            check_plain(v, f"{where}[{i}]")
        return
    if type(obj) in (dict, OrderedDict):
        for k, v in obj.items():
            if not isinstance(k, (str, int, float, bool, type(None))):
                raise TypeError(f"{where} has the key {k!r} of type {type(k).__name__}, not plain data")
            check_plain(v, f"{where}[{k!r}]")
        return
    kind = "a deque (use a list)" if isinstance(obj, deque) else f"a {type(obj).__module__}.{type(obj).__qualname__}"
    raise TypeError(f"{where} is {kind}, not plain data (tensors, NumPy arrays, numbers, strings, lists, dicts)")
