"""The embedded synthetic corpus: seeded, realistic enough to rank models sensibly.

``generate(preset, seed=...)`` draws a :class:`~apc.data.Playlists` with the structure
playlist models exploit on real data:

* **genres and artists** — every artist belongs to one genre; artists of a genre sit
  on a ring and each has ``n_related`` *related* artists (its ring neighbours, the
  following ones more often than the preceding ones);
* **power-law popularity** — artist popularity is Zipf-distributed and decays along an
  artist's catalogue, so a few tracks fill many playlists over a long tail;
* **playlists of one or two genres** (the second one usually a neighbouring genre:
  rock next to punk, jazz next to blues) with a log-normal length as on the MPD;
* **sequential coherence** — the next track is, with probability ``p_same_artist``, by
  the same artist (then usually that artist's *next* track in album order: an order
  signal that Markov chains, rules and GRUs learn and bag-of-items models cannot), with
  ``p_related`` by a related artist, and otherwise a popularity-weighted draw from the
  playlist's genres;
* **metadata** — titles made of the playlist genre's words ("rock anthems", "Chill
  Sleep Mix") so that title-only queries are answerable; per-track tags (genre, mood,
  era, style); release years; MPD-like ``timestamp`` and ``num_followers``;
* **audio parameters** — each track's tempo, pitch, brightness, percussiveness and
  timbre follow its genre and artist; :func:`apc.features.synth_audio.render_audio`
  synthesises a clip from them, so a CNN on log-mel spectrograms can learn both, and
  :func:`apc.features.synth_audio.write_audio` writes the clips as WAV files.

It is **not real data**: it makes the classic comparisons behave (popularity below
artist heuristics and k-NN on continuation; order-aware models ahead on next-track)
and runs in seconds, which is what tests, tutorials and the demo need. Everything is
drawn from ``np.random.default_rng`` streams spawned from ``seed``; the catalogue and
the playlists use separate streams, so changing ``n_playlists`` keeps the catalogue.

The package's modules: :mod:`~apc.datasets.synthetic.tables` (word lists and genre
audio values), :mod:`~apc.datasets.synthetic.presets` (:class:`SynthConfig`, the
presets and their validation) and :mod:`~apc.datasets.synthetic.corpus` (the
generator).

Examples
--------
>>> pl = generate("tiny", seed=0)
>>> pl.info["dataset"], len(pl), pl.n_tracks
('synth:tiny', 200, 300)
"""

from apc.datasets.synthetic.corpus import generate
from apc.datasets.synthetic.presets import PRESETS, SynthConfig, config
from apc.datasets.synthetic.tables import GENERIC_WORDS, GENRE_WORDS, genre_vocabulary, max_genres

__all__ = ["GENERIC_WORDS", "GENRE_WORDS", "PRESETS", "SynthConfig", "config", "generate",
           "genre_vocabulary", "max_genres"]
