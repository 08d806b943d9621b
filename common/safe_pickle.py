"""Reading pickles without executing code from them.

MA-52 and pyskl skeleton files are pickles of dicts, lists, strings, numbers and numpy arrays.
A plain ``pickle.load`` would run whatever a crafted file asks for; this unpickler resolves only
the handful of numpy and builtin names those files need and refuses everything else.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("collections", "OrderedDict"),
    ("builtins", "tuple"),
    ("builtins", "list"),
    ("builtins", "dict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "bytearray"),
    ("builtins", "slice"),
    ("builtins", "complex"),
    ("codecs", "encode"),
}


class UnsafePickleError(pickle.UnpicklingError):
    pass


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise UnsafePickleError(f"refused to load {module}.{name} (only plain data and numpy arrays are read)")


def load_pickle(path: str | Path) -> object:
    """Load a data pickle; raises ``UnsafePickleError`` for anything but plain data and arrays."""
    data = Path(path).read_bytes()
    return _Restricted(io.BytesIO(data)).load()
