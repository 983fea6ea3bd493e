"""The fixed choices of CLI options, as ``Literal`` types (Typer shows and checks them).

They repeat names registered elsewhere so that ``apc --help`` imports nothing heavy;
``tests/cli/test_cli_conventions.py`` keeps each equal to its registry.
"""

from __future__ import annotations

from typing import Literal

#: :data:`apc.evaluation.protocols.PROTOCOLS`.
Protocol = Literal["next-track", "continuation", "mpd-challenge", "cold-start"]
#: :data:`apc.datasets.synthetic.PRESETS`.
Preset = Literal["tiny", "small", "medium", "mpd-scale"]
#: :data:`apc.datasets.FORMATS`.
Format = Literal["mpd", "aotm2011", "8tracks", "csv", "longformat", "parquet", "aotm-bigrams"]
#: The benchmark executors (:mod:`apc.bench.executors`).
Executor = Literal["local", "ray"]
