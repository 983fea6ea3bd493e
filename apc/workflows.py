"""The library functions behind the CLI commands (one function per command).

Each function takes plain Python values, does the work and returns a result object;
the Typer layer in :mod:`apc.cli` only parses arguments and prints. Everything here
is usable from Python and notebooks as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apc.data.playlists import Playlists
from apc.errors import ApcInputError, read_text


# ---------------------------------------------------------------------------- data
def synth_corpus(out: str | Path, *, preset: str = "small", seed: int = 0, audio: bool = False,
                 audio_seconds: float = 6.0, sr: int = 22050, overwrite: bool = False) -> Playlists:
    """Generate the synthetic corpus and save it to ``out`` (with WAV clips if ``audio``).

    The clips (in ``audio/``) and the corpus files (with an ``audio_path`` column and
    ``info["audio_root"] = "."``) are staged together and renamed into place at once.

    Parameters
    ----------
    out : str or Path
        Corpus directory to write; missing or empty, or see ``overwrite``.
    preset : str, default "small"
        Synthetic preset (see :data:`apc.datasets.synthetic.PRESETS`).
    seed : int, default 0
        Generator seed.
    audio : bool, default False
        Also render a WAV clip per track.
    audio_seconds : float, default 6.0
        Clip length in seconds.
    sr : int, default 22050
        Sample rate of the clips.
    overwrite : bool, default False
        Replace an existing apc corpus at ``out``; a folder holding anything else is
        never replaced.

    Returns
    -------
    Playlists
        The corpus as saved (with ``audio_path`` when ``audio``).

    Raises
    ------
    ApcInputError
        Before any work, when ``out`` may not be replaced
        (:func:`apc._atomic.check_out_dir`).
    """
    from apc._atomic import atomic_dir, check_out_dir
    from apc.data.io import write_corpus_files
    from apc.datasets.synthetic import generate
    from apc.features.synth_audio import write_audio

    out = Path(out)
    check_out_dir(out, "corpus", overwrite=overwrite)
    pl = generate(preset, seed=seed)
    if not audio:
        pl.save(out, overwrite=overwrite)
        return pl
    with atomic_dir(out, kind="corpus", overwrite=overwrite) as staging:
        paths = write_audio(pl, staging / "audio", sr=sr, seconds=audio_seconds)
        tracks = pl.tracks.copy()
        tracks["audio_path"] = ["audio/" + str(p) for p in pd.Series(paths).astype(str)]
        info = dict(pl.info, audio_root=".", audio_sr=sr, audio_seconds=audio_seconds)
        pl = Playlists(pl.indptr, pl.items, tracks, pl.artists, pl.meta, info)
        write_corpus_files(pl, staging)
    return pl


def corpus_stats(spec: str | Path) -> dict[str, Any]:
    """Load a corpus (dir, ``synth:`` spec or native file) and return its statistics.

    Parameters
    ----------
    spec : str or Path
        Anything :func:`apc.datasets.load_corpus` reads.

    Returns
    -------
    dict
        :meth:`Playlists.stats` of the corpus.
    """
    from apc.datasets import load_corpus

    return load_corpus(spec).stats()


# ---------------------------------------------------------------------------- models
def build_model(name: str, params: dict[str, Any] | None = None, *, accelerator: str | None = None,
                devices: str | int | None = None) -> Any:
    """Create a model by name or import path.

    Parameters
    ----------
    name : str
        Registry name, entry point or ``pkg.module:Class``.
    params : dict, optional
        Hyper-parameters.
    accelerator : str, optional
        Lightning accelerator, passed to models that take one.
    devices : str or int, optional
        Lightning devices, passed to models that take them.

    Returns
    -------
    Recommender
        The unfitted model; a model that declares ``empty_seed_fallback`` comes
        wrapped in :class:`~apc.models.fallback.TitleFallback`, so queries without
        seed tracks (MPD title-only playlists) are answered by title.

    Raises
    ------
    ApcInputError
        If the name is unknown, is not a model class, or ``accelerator``/``devices``
        is given for a model that does not take it.
    """
    from apc.models.fallback import with_title_fallback
    from apc.models.registry import create_model, get_model_class

    params = dict(params or {})
    cls = get_model_class(name)
    accepted = set(getattr(cls, "_param_names", lambda: [])())
    for key, value in (("accelerator", accelerator), ("devices", devices)):
        if value is None:
            continue
        if key not in accepted:
            raise ApcInputError(
                f"model {name!r} does not train on devices; drop --{key}", field=key
            )
        params[key] = value
    return with_title_fallback(create_model(name, params))


def fit_model(data: str | Path, name: str, out: str | Path, params: dict[str, Any] | None = None,
              **device) -> Any:
    """Fit a model on a whole corpus and save it (atomically) to ``out``.

    Parameters
    ----------
    data : str or Path
        Training corpus, anything :func:`apc.datasets.load_corpus` reads.
    name : str
        Registry name, entry point or ``pkg.module:Class``.
    out : str or Path
        Where the model's ``save`` writes it.
    params : dict, optional
        Hyper-parameters.
    **device
        ``accelerator`` and ``devices``, as for :func:`build_model`.

    Returns
    -------
    Recommender
        The fitted model.

    Raises
    ------
    ApcInputError
        If the corpus is empty, or the model cannot be built or has no ``save``.
    """
    from apc._atomic import check_not_input
    from apc.datasets import load_corpus
    from apc.models.base import check_train, corpus_fingerprint

    check_not_input(out, data)
    model = build_model(name, params, **device)
    if not hasattr(model, "save"):
        raise ApcInputError(f"model {name!r} has no save(); cannot write {out}", field="model")
    train = load_corpus(data)
    try:
        check_train(train)  # every model, also a plug-in without apc's template
    except ApcInputError as e:
        raise ApcInputError(e.message, file=str(data)) from None
    model = model.fit(train)
    if getattr(model, "corpus_fingerprint_", None) is None:
        try:  # lets `apc recommend` tell the training corpus from another of the same size
            model.corpus_fingerprint_ = corpus_fingerprint(train)
        except AttributeError:
            pass
    model.save(out)
    return model


def read_seed_file(path: str | Path, train: Playlists):
    """Read queries from a seed file.

    The file is an MPD ``challenge_set.json`` or a text file with one playlist per line
    (track ids separated by whitespace or commas; a line may start with
    ``title: <name> |``; blank lines and ``#`` comments are skipped). Unknown track ids
    are dropped and counted.

    Parameters
    ----------
    path : str or Path
        The seed file; ``.json`` is read as a challenge set.
    train : Playlists
        The corpus whose catalogue the seeds are mapped onto.

    Returns
    -------
    queries : Queries
        One query per playlist, without targets.
    report : dict
        For a text file, ``queries`` and ``unknown_seed_tracks_dropped``; for a
        challenge set, the report of
        :func:`apc.datasets.mpd_challenge.read_challenge_set`.

    Raises
    ------
    ApcInputError
        If the file does not exist.
    """
    from apc.data.queries import Queries
    from apc.data.vocab import Vocabulary

    path = Path(path)
    if not path.exists():
        raise ApcInputError("no such seed file", file=str(path))
    if path.suffix == ".json":
        from apc.datasets.mpd_challenge import read_challenge_set

        return read_challenge_set(path, train)
    vocab = Vocabulary(train.tracks["track_id"].to_numpy())
    seeds, titles, unknown, given, examples = [], [], 0, 0, []
    for line in read_text(path, what="seed file").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        title = None
        if line.lower().startswith("title:"):
            title, _, line = line[6:].partition("|")
            title = title.strip()
        ids = [t for t in line.replace(",", " ").split() if t]
        idx = vocab.index(ids, missing="negative")
        unknown += int((idx < 0).sum())
        given += len(ids)
        examples += [ids[i] for i in np.flatnonzero(idx < 0)[: 3 - len(examples)]]
        seeds.append(idx[idx >= 0])
        titles.append(title)
    q = Queries.from_lists(seeds, [[] for _ in seeds], n_tracks=train.n_tracks,
                           titles=np.array(titles, dtype=object))
    return q, {"queries": len(seeds), "seed_tracks": given,
               "unknown_seed_tracks_dropped": unknown, "unknown_examples": examples}


@dataclass(frozen=True)
class SeedReport:
    """How the seeds of a seed file matched the training catalogue.

    Parameters
    ----------
    queries : int
        Queries (playlists) in the file.
    seed_tracks : int or None
        Seed tracks listed in the file (None when the reader does not count them).
    unknown_seed_tracks : int
        Seed tracks not in the training catalogue; they were dropped.
    fallback_queries : int
        Queries left without a known seed track: they get the model's answer for an
        empty seed (the title model under :class:`~apc.models.fallback.TitleFallback`).
    examples : tuple of str
        Up to three unknown track ids.
    """

    queries: int
    seed_tracks: int | None
    unknown_seed_tracks: int
    fallback_queries: int
    examples: tuple[str, ...] = ()

    def line(self) -> str:
        """One line for stderr, e.g. ``2 of 9 seed tracks unknown (dropped); 1 of 3 ...``."""
        of = "" if self.seed_tracks is None else f" of {self.seed_tracks}"
        eg = f" (e.g. {', '.join(map(repr, self.examples))})" if self.examples else ""
        return (f"{self.unknown_seed_tracks}{of} seed tracks unknown to the training corpus"
                f"{eg}, dropped; {self.fallback_queries} of {self.queries} queries had no "
                f"known seed track and got the empty-seed answer")


@dataclass
class RecommendRun:
    """What :func:`recommend_to_csv` wrote, and how the seeds matched the catalogue.

    Parameters
    ----------
    frame : pd.DataFrame
        The rows written (``query, rank, track_id, score``).
    seeds : SeedReport
        Unknown seed tracks and queries that fell back.
    """

    frame: pd.DataFrame
    seeds: SeedReport


def recommend_to_csv(model_path: str | Path, train_spec: str | Path, seeds: str | Path,
                     out: str | Path, *, k: int = 10, strict: bool = False) -> RecommendRun:
    """Recommend ``k`` tracks for each seed playlist; write ``query,rank,track_id,score`` CSV.

    Parameters
    ----------
    model_path : str or Path
        A model saved by :func:`fit_model`.
    train_spec : str or Path
        The corpus the model was fitted on (maps track indices to ids).
    seeds : str or Path
        Seed file, see :func:`read_seed_file`.
    out : str or Path
        CSV to write (atomically).
    k : int, default 10
        List length (capped at the catalogue size, with a warning).
    strict : bool, default False
        Refuse seed files with tracks unknown to the training corpus instead of
        dropping them.

    Returns
    -------
    RecommendRun
        The rows written (``query`` is the playlist id of the query, ``rank`` starts at
        1 and padding is left out) and the :class:`SeedReport`.

    Raises
    ------
    ApcInputError
        When the model was fitted on another corpus than ``train_spec`` (another
        corpus fingerprint), or, with ``strict``, when a seed track is unknown.
    """
    from apc._atomic import check_not_input
    from apc.datasets import load_corpus
    from apc.models.base import corpus_fingerprint, load_model

    check_not_input(out, model_path, train_spec, seeds)
    model = load_model(model_path)
    train = load_corpus(train_spec)
    fitted_on = getattr(model, "corpus_fingerprint_", None)
    if fitted_on is not None and fitted_on != corpus_fingerprint(train):
        raise ApcInputError(
            "the model was fitted on another corpus (its tracks or playlists differ); pass "
            "the corpus given to `apc fit` as --train", file=str(train_spec))
    queries, read = read_seed_file(seeds, train)
    report = SeedReport(
        queries=len(queries),
        seed_tracks=read.get("seed_tracks"),
        unknown_seed_tracks=int(read.get("unknown_seed_tracks_dropped", 0)),
        fallback_queries=int((queries.seed_lengths == 0).sum()),
        examples=tuple(read.get("unknown_examples", ())),
    )
    if strict and report.unknown_seed_tracks:
        of = "" if report.seed_tracks is None else f" of {report.seed_tracks}"
        eg = f" (e.g. {', '.join(map(repr, report.examples))})" if report.examples else ""
        raise ApcInputError(
            f"{report.unknown_seed_tracks}{of} seed tracks are unknown to the training "
            f"corpus{eg}; drop --strict to skip them", file=str(seeds))
    recs = model.recommend(queries, k)
    q, r = np.nonzero(recs.items >= 0)
    frame = pd.DataFrame({
        "query": queries.playlist_ids[q],
        "rank": r + 1,
        "track_id": train.tracks["track_id"].to_numpy()[recs.items[q, r]],
        "score": recs.scores[q, r],
    })
    write_csv_atomic(frame, out)
    return RecommendRun(frame, report)


def write_csv_atomic(frame: pd.DataFrame, out: str | Path) -> Path:
    """Write a CSV via a temp file and rename.

    Parameters
    ----------
    frame : pd.DataFrame
        Rows to write (without the index).
    out : str or Path
        CSV file; parent folders are created.

    Returns
    -------
    Path
        ``out``.
    """
    from apc._atomic import atomic_path

    out = Path(out)
    with atomic_path(out) as tmp:
        frame.to_csv(tmp, index=False)
    return out


# ---------------------------------------------------------------------------- evaluation
@dataclass
class EvaluationRun:
    """Results of :func:`evaluate_models`: a summary table and the per-query rows.

    Parameters
    ----------
    summary : pd.DataFrame
        One row per model (see :func:`summarize`).
    per_query : pd.DataFrame
        Long-form per-query rows of every model.
    split_report : dict
        The split report.
    timings : dict
        Model -> ``{"fit_s": ..., "recommend_s": ...}``.
    """

    summary: pd.DataFrame
    per_query: pd.DataFrame
    split_report: dict[str, Any]
    timings: dict[str, dict[str, float]] = field(default_factory=dict)


def parse_ks(text: str | list[int]) -> list[int]:
    """Parse comma-separated cut-offs: ``"10,100,500"`` -> ``[10, 100, 500]``.

    Parameters
    ----------
    text : str or list of int
        Comma-separated integers, or a list of them.

    Returns
    -------
    list of int
        Sorted, without duplicates.

    Raises
    ------
    ApcInputError
        If a value is not an integer, none is given, or one is < 1 or > :data:`MAX_K`.
    """
    if isinstance(text, list):
        ks = text
    else:
        try:
            ks = [int(x) for x in str(text).split(",") if x.strip()]
        except ValueError as e:
            raise ApcInputError(
                f"expected comma-separated integers, got {text!r}", field="k"
            ) from e
    if not ks or min(ks) < 1:
        raise ApcInputError(f"k values must be positive integers, got {text!r}", field="k")
    if max(ks) > MAX_K:  # track indices are int32: a larger k is a typo, not a cut-off
        raise ApcInputError(f"k values must be at most {MAX_K:,}, got {max(ks):,}", field="k")
    return sorted(set(ks))


#: Largest cut-off :func:`parse_ks` accepts (the largest int32 track index).
MAX_K = 2**31 - 1


def evaluate_models(data: str | Path | Playlists, models: list[tuple[str, dict[str, Any]]], *,
                    protocol: str = "continuation", protocol_options: dict[str, Any] | None = None,
                    ks: list[int] = (10, 100, 500), metrics: list[str] | None = None,
                    seed: int = 0, out: str | Path | None = None, accelerator: str | None = None,
                    devices: str | int | None = None, dataset: str | None = None,
                    on_model=None) -> EvaluationRun:
    """Split ``data`` once with ``protocol`` and evaluate each model on it.

    Parameters
    ----------
    data : path, ``synth:`` spec or Playlists
        The corpus.
    models : list of (name, params)
        Registry names or ``pkg.module:Class`` import paths with their hyper-parameters.
    protocol, protocol_options
        Protocol name (``next-track``, ``continuation``, ``mpd-challenge``, ``cold-start``)
        and its options.
    ks, metrics
        Cut-offs and metric names (defaults depend on the protocol).
    seed : int
        Seed of the split, recorded in every row.
    out : path, optional
        Write per-query rows (long form) to this parquet file, atomically.
    accelerator, devices : optional
        Lightning accelerator and devices, for the models that take them.
    dataset : str, optional
        Dataset name recorded in every row (default: the corpus' ``info["name"]``, or
        ``data`` as text).
    on_model : callable, optional
        Called with the model name before each model is evaluated (progress display).

    Returns
    -------
    EvaluationRun
        The summary table (see :func:`summarize`), the per-query rows, the split
        report and fit / recommend seconds per model.

    Raises
    ------
    ApcInputError
        On an unknown metric, model, protocol or option (before any split or fit).
    """
    from apc.datasets import load_corpus
    from apc.evaluation.evaluate import evaluate, write_results
    from apc.evaluation.metrics import METRICS
    from apc.evaluation.protocols import make_protocol

    # fail on bad names and outputs before any (possibly long) split or fit
    if out is not None and not isinstance(data, Playlists):
        from apc._atomic import check_not_input

        check_not_input(out, data)
    for m in metrics or []:
        if m not in METRICS:
            raise ApcInputError(f"unknown metric {m!r}; known: {', '.join(sorted(METRICS))}",
                                field="metrics")
    built = [(name, build_model(name, params, accelerator=accelerator, devices=devices))
             for name, params in models]
    protocol_obj = make_protocol(protocol, **(protocol_options or {}))
    if isinstance(data, Playlists):
        corpus, dataset = data, dataset or data.info.get("name", "corpus")
    else:
        corpus, dataset = load_corpus(data), dataset or str(data)
    split = protocol_obj.split(corpus, seed=seed)
    frames, timings = [], {}
    for name, model in built:
        if on_model is not None:
            on_model(name)
        result = evaluate(model, split, ks=list(ks), metrics=metrics, dataset=dataset, seed=seed,
                          model_name=name)
        frames.append(result.per_query)
        timings[name] = {"fit_s": result.fit_seconds, "recommend_s": result.recommend_seconds}
    per_query = pd.concat(frames, ignore_index=True)
    if out is not None:
        write_results(per_query, out, split_report=split.report.as_dict(), policies=result.policies)
    summary = summarize(per_query, timings)
    return EvaluationRun(summary, per_query, split.report.as_dict(), timings)


def summarize(
    per_query: pd.DataFrame, timings: dict[str, dict[str, float]] | None = None
) -> pd.DataFrame:
    """Average each metric per model, columns labelled like ``recall@10``, in model order.

    Parameters
    ----------
    per_query : pd.DataFrame
        Long-form rows (``model, label, value``; see
        :data:`apc.evaluation.evaluate.RESULT_COLUMNS`).
    timings : dict, optional
        Model -> ``{"fit_s": ..., "recommend_s": ...}``, added as columns.

    Returns
    -------
    pd.DataFrame
        One row per model, one column per metric label (then ``fit_s`` and
        ``recommend_s`` when ``timings`` is given).
    """
    df = per_query
    order = list(dict.fromkeys(df["model"]))
    labels = list(dict.fromkeys(df["label"]))
    table = df.pivot_table(index="model", columns="label", values="value", aggfunc="mean",
                           sort=False).reindex(index=order, columns=labels)
    if timings:
        table["fit_s"] = [timings.get(m, {}).get("fit_s", np.nan) for m in table.index]
        table["recommend_s"] = [timings.get(m, {}).get("recommend_s", np.nan) for m in table.index]
    return table


# ---------------------------------------------------------------------------- demo
DEMO_MODELS = ["random", "popularity", "title", "sagh", "cagh", "knn", "item-knn", "markov", "sr"]


def demo(*, preset: str = "small", seed: int = 0, on_model=None) -> EvaluationRun:
    """Run the main job: synthetic corpus -> Continuation split -> evaluate the fast models.

    Parameters
    ----------
    preset : str, default "small"
        Synthetic preset.
    seed : int, default 0
        Seed of the corpus and of the split.
    on_model : callable, optional
        Called with the model name before each model is evaluated.

    Returns
    -------
    EvaluationRun
        Recall, NDCG (at 10, 100, 500), R-precision and clicks of the available
        models of :data:`DEMO_MODELS`.
    """
    from apc.datasets.synthetic import generate
    from apc.models.registry import available_models

    corpus = generate(preset, seed=seed)
    have = {s.name for s in available_models()}
    models = [(name, {}) for name in DEMO_MODELS if name in have]
    return evaluate_models(corpus, models, protocol="continuation", ks=[10, 100, 500],
                           metrics=["recall", "ndcg", "rprec", "clicks_mpd"], seed=seed,
                           dataset=f"synth:{preset}", on_model=on_model)
