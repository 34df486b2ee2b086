"""Classes that a file may name, found in registries of gennet's own classes — never imported or called by name.

A checkpoint, a prior file or a config saved by an earlier run describes the objects to rebuild as plain types,
``{"_target_": "gennet.models.HybridScatteringNet", **arguments}``. A :class:`Registry` maps the names of the few
classes allowed there (the data modules, the networks, the decoders) to the classes themselves; anything else is
refused before any of its code could run, and the arguments are checked against the constructor's signature and
to be plain types (``None``, ``bool``, ``int``, ``float``, ``str`` and lists and string-keyed dicts of them) before
the constructor is called. The Lasso solvers (:data:`gennet.sparse.SOLVERS`) and the priors
(:data:`gennet.priors.PRIOR_KINDS`) keep registries of their own, filled as their classes are defined.
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["Registry", "check_arguments", "check_plain", "weight_problems"]

#: Nesting allowed in a plain value read from a file (a decoder's solver description is two levels deep).
MAX_DEPTH = 8


def check_plain(key: str, value: Any, depth: int = 0) -> None:
    """``value`` is made of plain types only (``None``, ``bool``, ``int``, ``float``, ``str``; lists, tuples and dicts with
    string keys of them, at most :data:`MAX_DEPTH` deep); floats are finite.

    Raises:
        ValueError: ``"KEY: …"`` naming the first value that is not (a tensor, bytes, an object of another class).
    """
    if depth > MAX_DEPTH:
        raise ValueError(f"{key}: nested more than {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{key}: must be a finite number, got {value}")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_plain(f"{key}[{i}]", item, depth + 1)
        return
    if isinstance(value, Mapping):
        for name, item in value.items():
            if not isinstance(name, str):
                raise ValueError(f"{key}: keys must be strings, got {name!r}")
            check_plain(f"{key}.{name}", item, depth + 1)
        return
    raise ValueError(f"{key}: must be a plain value (number, string, list, mapping), got a {type(value).__name__}")


def _plain_types(annotation: Any) -> tuple[type, ...] | None:
    """The plain types a parameter annotated ``annotation`` takes (``float`` also takes ``int``; a list, a tuple or a
    sequence takes lists), or ``None`` where the annotation says nothing checkable (``Any``, a class of gennet, …)."""
    if annotation is None or annotation is type(None):
        return (type(None),)
    if annotation in (bool, int, str):
        return (annotation,)
    if annotation is float:
        return (int, float)
    origin = typing.get_origin(annotation) or annotation
    if origin in (typing.Union, types.UnionType):
        parts = [_plain_types(arg) for arg in typing.get_args(annotation)]
        return None if any(p is None for p in parts) else tuple(t for p in parts for t in p)
    if origin in (list, tuple, Sequence):
        return (list, tuple)
    if origin in (dict, Mapping):
        return (Mapping,)
    return None


def _annotations(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls.__init__)
    except Exception:  # noqa: BLE001 - an annotation that does not resolve is not checked
        return {}


def check_arguments(cls: type, arguments: Mapping[str, Any], key: str, given: Iterable[str] = ()) -> dict[str, Any]:
    """``arguments`` as a dict if each is a parameter of ``cls``'s constructor (not one of ``given``, which the caller
    passes itself) and a plain value (:func:`check_plain`).

    Raises:
        ValueError: ``"KEY.NAME: …"`` for an argument the constructor does not take, or a value that is not plain.
    """
    if not isinstance(arguments, Mapping):
        raise ValueError(f"{key}: must be a mapping of arguments, got a {type(arguments).__name__}")
    parameters = inspect.signature(cls).parameters
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    accepted = [name for name, p in parameters.items()
                if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY) and name not in given]
    hints = _annotations(cls)
    out = {}
    for name, value in arguments.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"{key}: argument names must be identifiers, got {name!r}")
        if name in given or not (name in accepted or open_ended):
            raise ValueError(f"{key}.{name}: is not an argument of {cls.__name__} (its arguments: {', '.join(accepted)})")
        check_plain(f"{key}.{name}", value)
        expected = _plain_types(hints[name]) if name in hints else None
        if expected is not None and not isinstance(value, expected):
            raise ValueError(f"{key}.{name}: {cls.__name__} takes {_describe(expected)} here, got {value!r}"[:300])
        out[name] = value
    return out


def _describe(types_: tuple[type, ...]) -> str:
    names = {type(None): "null", bool: "true/false", int: "an integer", float: "a number", str: "a string",
             list: "a list", tuple: "a list", Mapping: "a mapping"}
    return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in types_))


class Registry:
    """The classes of one role that a file may name: ``f"{package}.{Class}"`` (or the defining module's full path
    ``f"{module}.{Class}"``, as earlier versions wrote it) → the class.

    Args:
        role: what the classes are, for messages (``"data module"``).
        package: the public package the names start with (``"gennet.data"``).
        classes: the classes; a new one is one more entry where the registry is defined.
    """

    def __init__(self, role: str, package: str, classes: Iterable[type]) -> None:
        self.role, self.package = role, package
        self.classes = {cls.__name__: cls for cls in classes}

    def __contains__(self, cls: type) -> bool:
        return self.classes.get(getattr(cls, "__name__", None)) is cls

    def name(self, cls: type) -> str:
        """The public name of a registered class (``gennet.data.MNIST5kDataModule``)."""
        return f"{self.package}.{cls.__name__}"

    def names(self) -> list[str]:
        return [self.name(cls) for cls in self.classes.values()]

    def lookup(self, target: object) -> type:
        """The registered class ``target`` names.

        Raises:
            ValueError: ``target`` is not a string naming a registered class (the message lists them).
        """
        if isinstance(target, str):
            module, _, name = target.rpartition(".")
            cls = self.classes.get(name)
            if cls is not None and module in (self.package, cls.__module__):
                return cls
        raise ValueError(f"must name a {self.role} of gennet ({', '.join(self.names())}), got {target!r}")

    def check(self, description: Mapping[str, Any], key: str, given: Iterable[str] = ()) -> tuple[type, dict[str, Any]]:
        """The class and the arguments of ``description = {"_target_": name, **arguments}``, the class looked up
        (:meth:`lookup`) and the arguments checked (:func:`check_arguments`); nothing is called.

        Raises:
            ValueError: ``"KEY…: …"`` for a description that is not a mapping, an unknown class or a bad argument.
        """
        if not isinstance(description, Mapping):
            raise ValueError(f"{key}: must be a mapping with a _target_, got a {type(description).__name__}")
        try:
            cls = self.lookup(description.get("_target_"))
        except ValueError as error:
            raise ValueError(f"{key}._target_: {error}") from None
        return cls, check_arguments(cls, {k: v for k, v in description.items() if k != "_target_"}, key, given)

    def build(self, description: Mapping[str, Any], key: str, **given: Any) -> Any:
        """``Class(**given, **arguments)`` once :meth:`check` has passed."""
        cls, arguments = self.check(description, key, given)
        return cls(**given, **arguments)


def weight_problems(expected: Mapping[str, Any], found: Any, nan_allowed: Iterable[str] = ()) -> list[str]:
    """What is wrong with weights read from a file, ``found``, against the ``expected`` state dict of the module they
    are for (built on PyTorch's ``meta`` device where it can be: no memory spent): a mapping of tensors only, the same
    names, the same shapes, every floating-point value finite (but the entries ``nan_allowed``, where NaN means "not
    measured"). An empty list when nothing is."""
    import torch

    if not isinstance(found, Mapping) or not all(isinstance(v, torch.Tensor) for v in found.values()):
        return ["the weights are not a mapping of tensors"]
    problems = [f"{k} is missing" for k in expected if k not in found]
    problems += [f"{k} is not in the model" for k in found if k not in expected]
    problems += [f"{k} has shape {list(found[k].shape)}, the model {list(expected[k].shape)}"
                 for k in expected if k in found and found[k].shape != expected[k].shape]
    if problems:
        return problems
    allowed = set(nan_allowed)
    return [f"{k} holds non-finite values" for k, v in found.items()
            if k not in allowed and (v.is_floating_point() or v.is_complex()) and not bool(torch.isfinite(v).all())]
