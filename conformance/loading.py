"""Finding the class a TARGET string names: ``package.module:Class`` or ``path/file.py:Class``."""

import importlib
import importlib.util
import os
import sys


class TargetError(ValueError):
    """The TARGET string does not name an importable class (a usage error, exit code 2)."""


def _import_file(path):
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise TargetError(f"no such file: {path}")
    directory = os.path.dirname(path)
    name = os.path.splitext(os.path.basename(path))[0]
    # Import it as a top-level module of its own folder, so a fresh process that does
    # the same resolves the class (and its registration) under the same module name.
    loaded = sys.modules.get(name)
    if loaded is not None and os.path.abspath(getattr(loaded, "__file__", "") or "") != path:
        raise TargetError(
            f"cannot import {path} as module {name!r}: a different {name!r} is already imported "
            f"from {getattr(loaded, '__file__', None)}; use the package.module:ClassName form"
        )
    if directory not in sys.path:
        sys.path.insert(0, directory)
    return importlib.import_module(name)


def load_target(target):
    """The class named by ``target``; :class:`TargetError` with a one-line reason otherwise."""
    if not isinstance(target, str) or target.count(":") != 1:
        raise TargetError(
            f"TARGET must be 'package.module:ClassName' or 'path/to/file.py:ClassName', got {target!r}"
        )
    where, name = target.split(":")
    if not where or not name:
        raise TargetError(f"TARGET {target!r} is missing its module or its class name")
    import keras_compat as compat

    try:
        if where.endswith(".py"):
            module = _import_file(where)
        else:
            module = importlib.import_module(compat.target_module(where))
    except TargetError:
        raise
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's target
        raise TargetError(f"cannot import {where!r}: {type(exc).__name__}: {exc}") from exc
    obj = module
    for part in name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetError(f"{where!r} has no attribute {name!r}") from None
    if not isinstance(obj, type):
        raise TargetError(f"{target!r} is not a class")
    if not issubclass(obj, compat.keras.layers.Layer):
        raise TargetError(f"{target!r} is not a keras.layers.Layer or keras.Model subclass")
    return obj
