"""Declarative hyper-parameters: one config dataclass per model, one validator for all.

A model lists its hyper-parameters once, as the fields of a frozen dataclass that
holds each one's name, type, default, bounds and meaning (nanoGPT's ``GPTConfig``,
lkpy's ``ItemKNNConfig``)::

    @dataclass(frozen=True)
    class ItemKNNConfig:
        n_neighbors: int | None = param(100, ge=1, doc="Neighbours kept per track.")
        alpha: float = param(0.5, ge=0, le=1, doc="Asymmetric cosine exponent.")

and names it as ``config_class`` on its :class:`~apc.models.base.ScoringRecommender`
subclass. The model is still built from flat keywords (``ItemKNN(n_neighbors=50)``,
``apc fit -p n_neighbors=50``, a suite's ``[models.params]``): :func:`build` turns
them into the config and rejects unknown names, and :func:`validate` checks every
field against its annotation and constraints:

- the type comes from the annotation: ``int`` rejects ``bool``, ``1.5`` and ``"10"``;
  ``float`` accepts integers but not ``bool``, NaN or infinities; ``X | None`` also
  accepts None; ``list[int]`` wants a list or tuple of integers;
- ``ge``/``gt``/``le``/``lt`` bound numbers and ``choices`` lists the allowed values
  (for a sequence-typed field: each element must be one of them);
- a config may define ``check(self)`` for rules that tie fields together (e.g.
  ``hidden`` divisible by ``heads``); it runs after the field checks.

Every failure is an :class:`~apc.errors.ApcInputError` whose ``field`` is the
parameter's name (``str(error)`` reads ``field 'hidden': expected an integer >= 1, got
'abc'``; the message itself does not repeat the name, so callers such as the benchmark
runner can re-address it, e.g. to ``models[0].params.hidden``). Checks that
need the training data stay in the model's ``_validate(train)``.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import MISSING, dataclass
from typing import Any

import numpy as np

from apc.errors import ApcInputError

_CONSTRAINTS = ("ge", "gt", "le", "lt", "choices")

#: Lightning accelerators, for the ``accelerator`` of every model that trains with Lightning.
ACCELERATORS = ("cpu", "gpu", "cuda", "mps", "tpu", "auto")


def param(
    default: Any = MISSING,
    *,
    doc: str,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: tuple | None = None,
) -> Any:
    """Declare a config field: its default, bounds, allowed values and meaning.

    Parameters
    ----------
    default : object
        Default value (immutable; use a tuple for sequences).
    doc : str
        One-sentence meaning, shown by ``apc models <name>`` and the docs.
    ge, gt, le, lt : float, optional
        Bounds: ``>=``, ``>``, ``<=``, ``<``.
    choices : tuple, optional
        The allowed values.

    Returns
    -------
    dataclasses.Field
        A field for a dataclass body.

    Examples
    --------
    >>> @dataclass(frozen=True)
    ... class Config:
    ...     k: int = param(10, ge=1, doc="List length.")
    >>> validate(Config(k=0))
    Traceback (most recent call last):
    ...
    apc.errors.ApcInputError: field 'k': expected an integer >= 1, got 0
    """
    meta = {"doc": doc, "ge": ge, "gt": gt, "le": le, "lt": lt}
    meta["choices"] = None if choices is None else tuple(choices)
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class Spec:
    """One hyper-parameter as declared: what :func:`specs` returns.

    Attributes
    ----------
    name : str
        Keyword name.
    type : object
        Resolved annotation (``int``, ``float | None`` ...).
    default : object
        Default value.
    doc : str
        Meaning.
    constraints : dict
        Non-empty ones of ``ge``, ``gt``, ``le``, ``lt``, ``choices``.
    """

    name: str
    type: Any
    default: Any
    doc: str
    constraints: dict[str, Any]

    def describe(self) -> str:
        """Human-readable type and constraints, e.g. ``an integer >= 1 or None``."""
        return _describe(self.type, self.constraints)


def specs(config_class: type) -> list[Spec]:
    """List the declared hyper-parameters of a config dataclass.

    The fields the class itself declares come first (in their order), then those it
    inherits: a model's own parameters before the shared training settings.

    Parameters
    ----------
    config_class : type
        A dataclass whose fields were declared with :func:`param` (plain fields work
        too: no constraints, no doc).

    Returns
    -------
    list of Spec
    """
    hints = typing.get_type_hints(config_class)
    own = list(config_class.__dict__.get("__annotations__", {}))
    fields = sorted(
        dataclasses.fields(config_class),
        key=lambda f: own.index(f.name) if f.name in own else len(own),
    )  # stable: inherited fields keep their order
    out = []
    for f in fields:
        meta = f.metadata
        out.append(
            Spec(
                name=f.name,
                type=hints.get(f.name, Any),
                default=f.default,
                doc=meta.get("doc", ""),
                constraints={k: meta[k] for k in _CONSTRAINTS if meta.get(k) is not None},
            )
        )
    return out


def model_specs(model_class: type) -> list[Spec]:
    """List a model class's hyper-parameters: its ``config_class`` fields, else its signature.

    A model without a config (e.g. a participant's plain class) yields the keyword
    parameters of its constructor, with their annotations and defaults but no
    constraints or docs.

    Parameters
    ----------
    model_class : type
        A model class.

    Returns
    -------
    list of Spec
    """
    import inspect

    config = getattr(model_class, "config_class", None)
    if config is not None:
        return specs(config)
    try:
        parameters = inspect.signature(model_class).parameters.values()
    except (TypeError, ValueError):
        return []
    return [
        Spec(
            name=p.name,
            type=Any if p.annotation is p.empty else p.annotation,
            default=None if p.default is p.empty else p.default,
            doc="",
            constraints={},
        )
        for p in parameters
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def build(config_class: type, params: dict[str, Any], *, owner: str = "") -> Any:
    """Create a config from flat keyword parameters; unknown names raise.

    Values are stored as given; :func:`validate` checks them.

    Parameters
    ----------
    config_class : type
        The config dataclass.
    params : dict
        Name -> value; missing names take their defaults.
    owner : str, optional
        The model's name, for the error message.

    Returns
    -------
    object
        A ``config_class`` instance.

    Raises
    ------
    ApcInputError
        When a name is not a field of ``config_class``; the message lists the valid
        names.
    """
    valid = [f.name for f in dataclasses.fields(config_class)]
    for key in params:
        if key not in valid:
            who = f" for {owner}" if owner else ""
            raise ApcInputError(
                f"unknown parameter{who}; valid: {', '.join(sorted(valid)) or '(none)'}",
                field=key,
            )
    return config_class(**params)


def validate(config: Any) -> None:
    """Check every field of ``config`` against its type and constraints, then ``check()``.

    Parameters
    ----------
    config : object
        A config dataclass instance.

    Raises
    ------
    ApcInputError
        At the first invalid field, with ``field`` set to its name.
    """
    for spec in specs(type(config)):
        value = getattr(config, spec.name)
        if not _ok(value, spec.type, spec.constraints):
            raise ApcInputError(
                f"expected {spec.describe()}, got {value!r}", field=spec.name
            )
    check = getattr(config, "check", None)
    if callable(check):
        check()


def install(cls: type) -> None:
    """Give a model class with a ``config_class`` its keyword view of the config.

    Called by :class:`~apc.models.base.ScoringRecommender` for each subclass that
    sets ``config_class``: ``inspect.signature(cls)`` then lists the fields as
    keyword-only parameters (what the runner and the CLI introspect), and each field
    ``f`` is a read-only property ``cls.f`` returning ``self.config.f`` (change it with
    ``set_params``).

    Raises
    ------
    TypeError
        When a field name would hide a method of the class.
    """
    import inspect

    parameters = []
    for spec in specs(cls.config_class):
        existing = getattr(cls, spec.name, None)
        if callable(existing):
            raise TypeError(f"{cls.__name__}: config field {spec.name!r} hides a method")
        setattr(cls, spec.name, property(_getter(spec.name), doc=spec.doc))
        parameters.append(
            inspect.Parameter(
                spec.name, inspect.Parameter.KEYWORD_ONLY, default=spec.default,
                annotation=spec.type,
            )
        )
    cls.__signature__ = inspect.Signature(parameters)


def _getter(name: str):
    def get(self):
        return getattr(self.config, name)

    return get


# ---------------------------------------------------------------------------- type checks
def _members(tp: Any) -> tuple[Any, ...]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return (tp,)


def _is_type(value: Any, tp: Any) -> bool:
    if tp is Any:
        return True
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, (bool, np.bool_))
    if tp is int:
        return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if tp is float:
        return (
            isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_))
            and math.isfinite(value)
        )
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        args = typing.get_args(tp)
        item = args[0] if args else Any
        return isinstance(value, (list, tuple)) and all(
            any(_is_type(v, m) for m in _members(item)) for v in value
        )
    if isinstance(tp, type):
        return isinstance(value, tp)
    return True  # annotations this checker does not know are not enforced


def _in_bounds(value: Any, c: dict[str, Any]) -> bool:
    if "choices" in c:
        if isinstance(value, (list, tuple)):  # a sequence: a subset of the choices
            return all(v in c["choices"] for v in value)
        return value in c["choices"]
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        return True
    return (
        ("ge" not in c or value >= c["ge"])
        and ("gt" not in c or value > c["gt"])
        and ("le" not in c or value <= c["le"])
        and ("lt" not in c or value < c["lt"])
    )


def _ok(value: Any, tp: Any, c: dict[str, Any]) -> bool:
    for member in _members(tp):
        if _is_type(value, member):
            return value is None or _in_bounds(value, c)
    return False


_NOUNS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
_PLURALS = {int: "integers", float: "numbers", bool: "booleans", str: "strings", dict: "tables"}


def _noun(tp: Any) -> str:
    if tp in _NOUNS:
        return _NOUNS[tp]
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        args = typing.get_args(tp)
        if not args:
            return "a list"
        items = " or ".join(_PLURALS.get(m, "values") for m in _members(args[0]))
        return f"a list of {items}"
    return getattr(tp, "__name__", str(tp))


def _bounds(c: dict[str, Any]) -> str:
    low = next(((op, c[k]) for k, op in (("ge", "["), ("gt", "(")) if k in c), None)
    high = next(((op, c[k]) for k, op in (("le", "]"), ("lt", ")")) if k in c), None)
    if low and high:
        return f" in {low[0]}{low[1]:g}, {high[1]:g}{high[0]}"
    if low:
        return f" {'>=' if low[0] == '[' else '>'} {low[1]:g}"
    if high:
        return f" {'<=' if high[0] == ']' else '<'} {high[1]:g}"
    return ""


def _describe(tp: Any, c: dict[str, Any]) -> str:
    members = [m for m in _members(tp) if m is not type(None)]
    if "choices" in c:
        text = "one of " + ", ".join(repr(v) for v in c["choices"])
        if any(typing.get_origin(m) in (list, tuple) for m in members):
            text += " (or a list of them)"
    else:
        text = " or ".join(_noun(m) for m in members) + _bounds(c)
    if len(members) < len(_members(tp)):
        text += " or None"
    return text


__all__ = ["ACCELERATORS", "Spec", "build", "install", "model_specs", "param", "specs", "validate"]
