"""Content models that predict WMF item factors (the deep music-recommendation literature).

- :class:`~apc.models.content.dbn.DBNContent` / :class:`~apc.models.content.dbn.DBNHybrid`
  — a deep belief network on clip spectrograms (Wang & Wang 2014), content-only and
  hybrid (content + CF offset learned jointly with WMF).
- :class:`~apc.models.content.content_prior_mf.ContentPriorMF` — a tag-trained MLP's last
  hidden layer as a prior on WMF item factors (Liang, Zhan & Ellis 2015).
- :class:`~apc.models.content.multimodal.Multimodal` — a CNN on constant-Q patches, an
  MLP on TF-IDF artist text and a late-fusion MLP (Oramas et al. 2017).

All of them fold a query's seed tracks into the item-factor space (one implicit-ALS
user step, :func:`apc.models.content._base.fold_in`) and rank tracks by ``x_q · y_t``;
tracks that occur in no training playlist are scored through their predicted factors
(cold start). :mod:`apc.models.content._base` holds what they share.
"""
