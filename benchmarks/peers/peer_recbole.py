"""RecBole's GRU4Rec, SASRec or NARM on an exported split; run in RecBole's venv.

    /work/scratch/peers-venvs/recbole/bin/python benchmarks/peers/peer_recbole.py \
        --split DIR --out DIR --model GRU4Rec [--epochs 5] [--batch-size 256]

RecBole's own pipeline, as a user runs it: the training sessions are written as an
atomic ``.inter`` file (``session_id``, ``item_id``, ``timestamp`` = position), read by
``create_dataset``/``data_preparation`` (its sequential augmentation: every prefix ->
next item, the last ``MAX_ITEM_LIST_LENGTH`` = 50 items of the prefix), and trained by
its ``Trainer`` with the model's default hyper-parameters, cross-entropy over the whole
catalogue (``train_neg_sample_args=None``), ``--epochs`` epochs, no validation.

RecBole's leave-one-out split keeps the last two events of every user for validation
and test; so that no training event is lost, two marker items (``~valid``, ``~test``)
are appended to every session: they are the held-out events, are never a training
target, and are removed from every ranked list. Each query is one interaction whose
``item_id_list`` is its seed (the last 50 tracks; tracks that RecBole's vocabulary lacks
are dropped), scored by ``full_sort_predict``; the padding item, the markers and the seed
tracks are masked, and ``torch.topk`` gives the top ``k``. One torch thread, as apc.

With numpy >= 2 RecBole 1.2 needs the aliases ``np.float_``, ``np.int_``, ``np.bool``
(set here before it is imported; nothing else is changed).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from _peerio import SKIP, Clock, read_split, write_result  # noqa: E402

for _alias, _to in (("float_", np.float64), ("int_", np.int64), ("bool", np.bool_),
                    ("float", np.float64), ("int", np.int64), ("complex_", np.complex128),
                    ("unicode_", np.str_)):
    if not hasattr(np, _alias):
        setattr(np, _alias, _to)

MARKERS = ("~valid", "~test")


def write_inter(folder: Path, name: str, sessions: list[np.ndarray]) -> None:
    """The atomic file: every session, then its two marker items."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{name}.inter", "w") as f:
        f.write("session_id:token\titem_id:token\ttimestamp:float\n")
        for s, items in enumerate(sessions):
            for pos, item in enumerate([*map(str, items), *MARKERS]):
                f.write(f"{s}\t{item}\t{pos}\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", required=True, choices=("GRU4Rec", "SASRec", "NARM"))
    ap.add_argument("--epochs", type=int, default=None, help="default: the split's epochs")
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    try:
        import torch
        from recbole.config import Config
        from recbole.data import create_dataset, data_preparation
        from recbole.data.interaction import Interaction
        from recbole.trainer import Trainer
        from recbole.utils import get_model, init_seed
    except ImportError as e:
        print(f"skip: RecBole is not importable in {sys.prefix} ({e}); see README.md")
        return SKIP
    torch.set_num_threads(1)

    meta, sessions, seeds = read_split(args.split)
    k = meta["k"]
    epochs = args.epochs or meta.get("epochs", 5)
    work = Path(tempfile.mkdtemp(prefix="recbole-peer-"))
    out_dir = Path(args.out).resolve()
    os.chdir(work)  # RecBole writes log/ and log_tensorboard/ into the working directory
    clock = Clock()
    clock.start()  # writing the atomic file and RecBole's dataset build count as fit
    clock_c0 = time.process_time()
    write_inter(work / "peers", "peers", sessions)
    config = Config(model=args.model, config_dict={
        "data_path": str(work), "dataset": "peers", "checkpoint_dir": str(work / "saved"),
        "USER_ID_FIELD": "session_id", "ITEM_ID_FIELD": "item_id", "TIME_FIELD": "timestamp",
        "load_col": {"inter": ["session_id", "item_id", "timestamp"]},
        "MAX_ITEM_LIST_LENGTH": 50, "train_neg_sample_args": None, "loss_type": "CE",
        "epochs": epochs, "train_batch_size": args.batch_size, "eval_step": 0,
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full",
                      "group_by": "user"},
        "user_inter_num_interval": "[0,inf)", "item_inter_num_interval": "[0,inf)",
        "device": "cpu", "use_gpu": False, "show_progress": False, "seed": meta.get("seed", 0),
        "reproducibility": True, "worker": 0, "log_wandb": False, "state": "ERROR",
    })
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, _valid, _test = data_preparation(config, dataset)
    prepare_cpu = time.process_time() - clock_c0  # RecBole's dataset build, part of fit
    model = get_model(config["model"])(config, train_data.dataset).to("cpu")
    trainer = Trainer(config, model)
    trainer.fit(train_data, valid_data=None, saved=False, show_progress=False)
    clock.stop("fit")

    clock.start()
    model.eval()
    vocab = dataset.field2token_id["item_id"]
    max_len = config["MAX_ITEM_LIST_LENGTH"]
    masked = [0, *(vocab[m] for m in MARKERS)]
    token_of = np.full(dataset.item_num, -1, dtype=np.int64)
    for tok, i in vocab.items():
        if tok not in MARKERS and tok != "[PAD]":
            token_of[i] = int(tok)
    out = np.full((len(seeds), k), -1, dtype=np.int64)
    with torch.no_grad():
        for b in range(0, len(seeds), 512):
            rows = seeds[b:b + 512]
            ids = [np.array([vocab[t] for t in map(str, r) if t in vocab][-max_len:], np.int64)
                   for r in rows]
            seq = np.zeros((len(rows), max_len), dtype=np.int64)
            lens = np.array([max(1, len(x)) for x in ids], dtype=np.int64)
            for i, x in enumerate(ids):
                seq[i, :len(x)] = x
            inter = Interaction({"item_id_list": torch.from_numpy(seq),
                                 "item_length": torch.from_numpy(lens)})
            scores = model.full_sort_predict(inter).view(len(rows), -1)
            scores[:, masked] = -torch.inf
            for i, x in enumerate(ids):
                scores[i, torch.from_numpy(x)] = -torch.inf
            top = torch.topk(scores, k, dim=1).indices.numpy()
            out[b:b + len(rows)] = token_of[top]
    clock.stop("recommend")
    write_result(out_dir, out, clock, system="recbole", model=args.model.lower(),
                 params={"epochs": epochs, "batch_size": args.batch_size},
                 prepare_cpu=prepare_cpu,
                 n_train_events=int(sum(max(0, len(s) - 1) for s in sessions)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
