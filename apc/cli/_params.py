"""``--param`` for several models: ``key=value`` for each that has it, ``model.key=value`` for one.

``apc evaluate -m knn -m item-knn -p n_neighbors=50`` gives ``n_neighbors`` to both
(each has it); ``-p knn.n_neighbors=50`` to ``knn`` only. A ``--params-file`` may hold
the same: top-level keys for every model, a table named after a model for that model.
"""

from __future__ import annotations

from typing import Any

from apc.errors import ApcInputError


def _param_names(model: str) -> set[str] | None:
    """Return the hyper-parameter names of ``model`` (None when it takes ``**kwargs``)."""
    import inspect

    from apc.models.params import model_specs
    from apc.models.registry import get_model_class

    cls = get_model_class(model)
    if getattr(cls, "config_class", None) is None:
        try:
            sig = inspect.signature(cls)
        except (TypeError, ValueError):
            return None
        if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            return None
    return {s.name for s in model_specs(cls)}


def params_per_model(
    models: list[str], pairs: list[str] | None, params_file: Any = None
) -> list[tuple[str, dict[str, Any]]]:
    """Split ``--param`` values (and a ``--params-file``) between the given models.

    Parameters
    ----------
    models : list of str
        The ``--model`` values, in order.
    pairs : list of str or None
        ``key=value`` (every model that has ``key``; with a single model, that model,
        which rejects an unknown key itself) or ``model.key=value`` (that model only;
        ``model`` as given to ``--model``, e.g. ``knn`` or ``mypkg.mod:MyModel``).
    params_file : path, optional
        TOML file: top-level keys as ``key=value``, a ``[model]`` table as
        ``model.key=value``. ``--param`` values override the file's.

    Returns
    -------
    list of (str, dict)
        One ``(model, parameters)`` per model, in order.

    Raises
    ------
    ApcInputError
        On a ``model.`` prefix naming none of the given models, or (with several
        models) a key that none of them has.
    """
    from apc.parsing import parse_params

    given = list(dict.fromkeys(models))
    shared: dict[str, Any] = {}
    own: dict[str, dict[str, Any]] = {m: {} for m in given}

    def add(key: str, value: Any, where: str) -> None:
        prefix, dot, name = key.rpartition(".")
        if not dot:
            shared[key] = value
            return
        if prefix not in own:
            raise ApcInputError(
                f"{where} {key}: {prefix!r} is none of the models given with --model "
                f"({', '.join(given)}); write {name}=... for every model that has it, or "
                f"<model>.{name}=... for one",
                field="param",
            )
        own[prefix][name] = value

    if params_file is not None:
        for key, value in parse_params(None, params_file).items():
            if key in own and isinstance(value, dict):
                for name, v in value.items():
                    add(f"{key}.{name}", v, "--params-file")
            else:
                add(key, value, "--params-file")
    for key, value in parse_params(pairs).items():
        add(key, value, "--param")
    if len(given) == 1:
        return [(m, {**shared, **own[given[0]]}) for m in models]
    names = {m: _param_names(m) for m in given}
    unused = [k for k in shared if not any(n is None or k in n for n in names.values())]
    if unused:
        raise ApcInputError(
            f"--param {unused[0]}: none of the models {', '.join(given)} has this parameter "
            "(`apc models NAME` lists a model's parameters)",
            field="param",
        )
    out = []
    for m in models:
        mine = {k: v for k, v in shared.items() if names[m] is None or k in names[m]}
        out.append((m, {**mine, **own[m]}))
    return out
