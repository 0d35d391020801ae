"""Visual search benchmark: every figure next to the naive approach, in the same run.

    .venv/bin/python bench/vision.py [--models-dir models] [--photos 256] [--queries 300]

1. Embedding throughput (images/s, decode included and not): fp32 vs
   bfloat16 autocast + channels_last, and the cosine between their features;
   the same for ResNet50 (random weights: speed does not depend on them).
2. Nearest neighbours over the catalog embeddings (the served
   `image-embeddings` artifact if there is one, else synthetic vectors of the
   same shape): p50/p99 query latency of exact (precomputed normalised matrix)
   and HNSW (usearch, f16) against the naive per-request cosine over the
   whole catalog, recall@10 of HNSW against exact, and memory against raw
   float32 vectors (usearch's serialized size and the process's RSS growth).
3. Photo search end to end (decode + forward pass + search) p50/p99.

Writes bench/out/vision.json. Numbers depend on what else the 2 cores run.
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ml.ann import VectorIndex, exact_topk  # noqa: E402
from ml.vision.data import photo_rows, split_rows  # noqa: E402
from ml.vision.encoders import (SHIPPED_CHECKPOINT, ImageEncoder, ResNetFeatures,  # noqa: E402
                                load_checkpoint, load_encoder)
from ml.vision.preprocess import IMAGENET  # noqa: E402
from ml.vision.search import DEFAULT_COLOUR_WEIGHT  # noqa: E402

CSV = ROOT / "data" / "styles.csv"
IMAGES = ROOT / "data" / "images"


def rss():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def percentiles(seconds):
    ms = sorted(s * 1000 for s in seconds)
    return {"p50_ms": round(statistics.median(ms), 3),
            "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 3)}


def timed(fn, repeat):
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def throughput(encoder, paths, batch_size=64):
    """(images/s including decode, images/s forward only, features)."""
    t0 = time.perf_counter()
    batches = [encoder.load_uint8(paths[i:i + batch_size]) for i in range(0, len(paths), batch_size)]
    decode = time.perf_counter() - t0
    encoder.embed_uint8(batches[0][:8])          # warm-up
    t0 = time.perf_counter()
    features = [encoder._features(b) for b in batches]
    forward = time.perf_counter() - t0
    features = torch.nn.functional.normalize(torch.cat(features), dim=1)
    return len(paths) / (decode + forward), len(paths) / forward, features


def bench_embedding(encoder, paths, label, results):
    encoder.fast = False
    slow_total, slow_fwd, slow_feat = throughput(encoder, paths)
    encoder.fast = True
    encoder.network = encoder.network.to(memory_format=torch.channels_last)
    fast_total, fast_fwd, fast_feat = throughput(encoder, paths)
    cosine = (slow_feat * fast_feat).sum(dim=1)
    results[label] = {
        "photos": len(paths),
        "fp32_images_per_s": round(slow_fwd, 1), "bf16_cl_images_per_s": round(fast_fwd, 1),
        "speedup": round(fast_fwd / slow_fwd, 2),
        "fp32_with_decode_images_per_s": round(slow_total, 1),
        "bf16_cl_with_decode_images_per_s": round(fast_total, 1),
        "cosine_bf16_vs_fp32_mean": round(float(cosine.mean()), 5),
        "cosine_bf16_vs_fp32_min": round(float(cosine.min()), 5),
    }
    print(f"[embed] {label}: fp32 {slow_fwd:.1f} img/s, bf16+channels_last {fast_fwd:.1f} img/s "
          f"-> {fast_fwd / slow_fwd:.2f}x; cosine mean {float(cosine.mean()):.4f} "
          f"min {float(cosine.min()):.4f}; with decode {fast_total:.1f} img/s", flush=True)


def load_catalog_vectors(models_dir):
    from ml.artifacts import ArtifactError
    from ml.vision.search import ImageSearch

    try:
        search = ImageSearch.load(models_dir)
        skus = search.index.skus
        matrix = np.stack([search.index.vector(s) for s in skus]).astype(np.float32)
        return search, skus, matrix, f"served image-embeddings {search.card.get('version')}"
    except ArtifactError:
        rng = np.random.default_rng(0)
        centres = rng.normal(size=(140, 1333))
        matrix = (centres[rng.integers(0, 140, 11339)] + 0.8 * rng.normal(size=(11339, 1333)))
        matrix = (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)
        return None, [str(i) for i in range(len(matrix))], matrix, "synthetic clustered vectors"


def bench_index(skus, matrix, queries, results, k=10):
    raw = matrix.nbytes
    before = rss()
    exact = VectorIndex.build(skus, matrix, backend="exact")
    exact_mem = rss() - before
    before = rss()
    t0 = time.perf_counter()
    hnsw = VectorIndex.build(skus, matrix, backend="hnsw")
    build_s = time.perf_counter() - t0
    hnsw_rss = rss() - before

    naive_t, exact_t, hnsw_t, recalls = [], [], [], []
    for q in queries:
        t0 = time.perf_counter()
        naive = exact_topk(q, matrix, k)
        naive_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ex = exact.search(q, k)
        exact_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ap = hnsw.search(q, k)
        hnsw_t.append(time.perf_counter() - t0)
        truth = {s for s, _ in ex}
        recalls.append(len(truth & {s for s, _ in ap}) / k)
        assert truth == {skus[i] for i in naive} or len(truth ^ {skus[i] for i in naive}) <= 2
    naive_p, exact_p, hnsw_p = percentiles(naive_t), percentiles(exact_t), percentiles(hnsw_t)
    results["index"] = {
        "items": len(skus), "dim": matrix.shape[1], "queries": len(queries),
        "naive": naive_p, "exact": exact_p, "hnsw": hnsw_p,
        "exact_speedup_vs_naive_p50": round(naive_p["p50_ms"] / exact_p["p50_ms"], 1),
        "hnsw_speedup_vs_naive_p50": round(naive_p["p50_ms"] / hnsw_p["p50_ms"], 1),
        "hnsw_recall@10_vs_exact": round(float(np.mean(recalls)), 4),
        "hnsw_build_s": round(build_s, 1),
        "raw_float32_mb": round(raw / 2 ** 20, 1),
        "exact_memory_vs_raw": round(exact.memory_bytes() / raw, 3),
        "exact_rss_growth_vs_raw": round(exact_mem / raw, 3),
        "hnsw_memory_vs_raw": round(hnsw.memory_bytes() / raw, 3),
        "hnsw_rss_growth_vs_raw": round(hnsw_rss / raw, 3),
        "hnsw_params": hnsw.params,
    }
    r = results["index"]
    print(f"[index] {len(skus)} x {matrix.shape[1]}: naive p50 {naive_p['p50_ms']} ms / p99 "
          f"{naive_p['p99_ms']} ms; exact p50 {exact_p['p50_ms']} ms ({r['exact_speedup_vs_naive_p50']}x); "
          f"hnsw p50 {hnsw_p['p50_ms']} ms / p99 {hnsw_p['p99_ms']} ms "
          f"({r['hnsw_speedup_vs_naive_p50']}x), recall@10 {r['hnsw_recall@10_vs_exact']}; "
          f"memory vs raw: exact {r['exact_memory_vs_raw']}, hnsw {r['hnsw_memory_vs_raw']} "
          f"(RSS growth {r['hnsw_rss_growth_vs_raw']})", flush=True)
    return exact, hnsw


def bench_photo_search(search, exact, hnsw, matrix, skus, paths, results, k=10):
    encoder = search.encoder
    encoder.fast = True
    naive_t, exact_t, hnsw_t = [], [], []
    search.similar_to_image(paths[0], k)   # warm-up
    for path in paths:
        t0 = time.perf_counter()
        vector = encoder.embed([path])[0]
        exact_topk(vector, matrix, k)
        naive_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        exact.search(encoder.embed([path])[0], k)
        exact_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        hnsw.search(encoder.embed([path])[0], k)
        hnsw_t.append(time.perf_counter() - t0)
    naive_p, exact_p, hnsw_p = percentiles(naive_t), percentiles(exact_t), percentiles(hnsw_t)
    results["photo_search"] = {"queries": len(paths), "encoder": encoder.name,
                               "naive": naive_p, "exact": exact_p, "hnsw": hnsw_p,
                               "exact_vs_naive_p50": round(naive_p["p50_ms"] / exact_p["p50_ms"], 2),
                               "hnsw_vs_naive_p50": round(naive_p["p50_ms"] / hnsw_p["p50_ms"], 2)}
    print(f"[photo search] decode+forward+search p50/p99: naive {naive_p['p50_ms']:.1f}/"
          f"{naive_p['p99_ms']:.1f} ms, exact {exact_p['p50_ms']:.1f}/{exact_p['p99_ms']:.1f} ms, "
          f"hnsw {hnsw_p['p50_ms']:.1f}/{hnsw_p['p99_ms']:.1f} ms", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models-dir", default=os.environ.get("MODELS_DIR", str(ROOT / "models")))
    parser.add_argument("--photos", type=int, default=256)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-resnet", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {"threads": args.threads, "cpu_count": os.cpu_count(),
               "load_average_at_start": os.getloadavg()}
    rows = photo_rows(CSV, IMAGES)
    train_rows, val_rows = split_rows(rows)
    paths = [r["path"] for r in val_rows[:args.photos]]

    if SHIPPED_CHECKPOINT.is_file():
        encoder = load_checkpoint(SHIPPED_CHECKPOINT, colour_weight=DEFAULT_COLOUR_WEIGHT)
    else:
        encoder = load_encoder("lite0", colour_weight=DEFAULT_COLOUR_WEIGHT)
    results["embedding"] = {}
    bench_embedding(encoder, paths, encoder.name, results["embedding"])
    if not args.skip_resnet:
        from torchvision.models import resnet50
        torch.manual_seed(0)
        resnet = ImageEncoder(ResNetFeatures(resnet50(weights=None)), IMAGENET, "resnet50-random",
                              fast=False)
        bench_embedding(resnet, paths[:64], "resnet50", results["embedding"])
    per_s = results["embedding"][encoder.name]["bf16_cl_with_decode_images_per_s"]
    results["embedding"]["catalog_minutes_estimate"] = round(len(rows) / per_s / 60, 1)
    print(f"[embed] {len(rows)} shipped photos at {per_s} img/s -> "
          f"{results['embedding']['catalog_minutes_estimate']} min", flush=True)

    search, skus, matrix, source = load_catalog_vectors(args.models_dir)
    results["vectors"] = source
    # Held-out queries: these items are left out of the index, as an unseen photo would be.
    rng = np.random.default_rng(1)
    picks = rng.choice(len(matrix), min(args.queries, len(matrix) // 2), replace=False)
    keep = np.setdiff1d(np.arange(len(matrix)), picks)
    queries = matrix[picks]
    skus, matrix = [skus[i] for i in keep], np.ascontiguousarray(matrix[keep])
    exact, hnsw = bench_index(skus, matrix, queries, results)
    if search is not None:
        bench_photo_search(search, exact, hnsw, matrix, skus, paths[:100], results)

    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "vision.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"-> {out / 'vision.json'}")


if __name__ == "__main__":
    main()
