"""Neural next-track models trained with PyTorch Lightning.

- :class:`~apc.models.sequence.gru4rec.GRU4Rec` (registry name ``gru4rec``):
  session-parallel GRU (Hidasi et al. 2016; Hidasi & Karatzoglou 2018).
- :class:`~apc.models.sequence.attn_gru.AttentiveBiGRU` (``attn-gru``): attentive
  bidirectional GRU over tracks and, optionally, their tags (Sachdeva et al. 2018).
- :class:`~apc.models.sequence.sasrec.SASRec` (``sasrec``): causal self-attention
  (Kang & McAuley 2018).

Importing this package does not import torch; each model module does.
"""
