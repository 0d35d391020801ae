"""Visual search benchmark: every figure next to its baseline, in the same run.

    .venv/bin/python bench/vision.py [--models-dir models] [--photos 256] [--queries 300]

1. Embedding the catalog: the served encoder on ONNX Runtime against the same
   weights in torch (fp32, and bf16 autocast + channels_last, which served
   before), on photos of both sizes: images/s with and without decoding, the
   feature cosine to torch fp32, the minutes for the whole shipped catalog,
   and each runtime's memory in a fresh process (RSS after loading the encoder
   and embedding one batch).
2. Nearest neighbours over the catalog embeddings (the served
   `image-embeddings` artifact if there is one, else synthetic vectors of the
   shipped catalog's shape): p50/p99 of exact and HNSW against the naive
   per-request cosine, recall@10 of HNSW, memory against raw float32.
3. Photo search end to end (decode + forward pass + search) p50/p99, and the
   served `ImageSearch.similar_to_image` (one forward pass for the embedding
   and the classifier, the nearest 100 photos re-ranked by label agreement).

Writes bench/out/vision.json. Numbers depend on what else the 2 cores run.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.report import percentiles  # noqa: E402
from ml.ann import VectorIndex, exact_topk  # noqa: E402
from ml.vision.colour import DIM as COLOUR_DIM  # noqa: E402
from ml.vision.data import photo_rows, split_rows  # noqa: E402
from ml.vision.runtime import SHIPPED_ONNX, OnnxEncoder  # noqa: E402
from ml.vision.search import DEFAULT_COLOUR_WEIGHT  # noqa: E402

CSV = ROOT / "data" / "styles.csv"
IMAGES = (ROOT / "data" / "images", ROOT / "data" / "images_small")
CHECKPOINT = SHIPPED_ONNX.with_suffix(".pth")

MEMORY_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
before = rss()
if sys.argv[2] == "onnxruntime":
    from ml.vision.runtime import OnnxEncoder
    encoder = OnnxEncoder(sys.argv[3])
    encoder.run(encoder.load_uint8(sys.argv[4:]))
else:
    import numpy as np, torch
    from ml.vision.encoders import load_checkpoint
    from ml.vision.preprocess import to_uint8
    torch.set_num_threads(1)
    loaded = load_checkpoint(sys.argv[3])
    batch = np.stack([to_uint8(p, loaded.preprocess) for p in sys.argv[4:]])
    with torch.inference_mode():
        loaded.network(torch.from_numpy(batch).float())
print(json.dumps({"rss_mb": rss() / 2**20, "growth_mb": (rss() - before) / 2**20,
                  "torch_imported": "torch" in sys.modules}))
"""


def ms(seconds):
    return [s * 1000 for s in seconds]


def rounded(p):
    return {k: round(v, 2) for k, v in p.items()}


def embed_rates(run, batches):
    """(images/s forward only, features) of `run(batch)` over uint8 batches."""
    run(batches[0][:8])   # warm-up
    t0 = time.perf_counter()
    features = np.concatenate([run(b) for b in batches])
    return sum(len(b) for b in batches) / (time.perf_counter() - t0), features


def cosine(a, b):
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def bench_embedding(onnx_path, paths, catalog_size, results, batch_size=64):
    import torch

    from ml.vision.encoders import load_checkpoint

    encoder = OnnxEncoder(onnx_path, threads=1)
    t0 = time.perf_counter()
    batches = [encoder.load_uint8(paths[i:i + batch_size]) for i in range(0, len(paths), batch_size)]
    decode_s = time.perf_counter() - t0
    onnx_rate, onnx_features = embed_rates(lambda b: encoder.run(b)["features"], batches)

    torch.set_num_threads(1)
    network = load_checkpoint(CHECKPOINT).network
    scale = (torch.tensor(encoder.preprocess.std) * 255).view(1, 3, 1, 1)
    mean = torch.tensor(encoder.preprocess.mean).view(1, 3, 1, 1) * 255

    @torch.inference_mode()
    def torch_fp32(batch):
        return network((torch.from_numpy(batch).float() - mean) / scale).numpy()

    @torch.inference_mode()
    def torch_bf16(batch):
        x = ((torch.from_numpy(batch).float() - mean) / scale).contiguous(
            memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return network.to(memory_format=torch.channels_last)(x).float().numpy()

    fp32_rate, fp32_features = embed_rates(torch_fp32, batches)
    bf16_rate, bf16_features = embed_rates(torch_bf16, batches)
    per_photo_decode = decode_s / len(paths)
    with_decode = 1 / (1 / onnx_rate + per_photo_decode)
    results["embedding"] = {
        "photos": len(paths), "input": f"{encoder.preprocess.width}x{encoder.preprocess.height}",
        "onnxruntime_images_per_s": round(onnx_rate, 1),
        "torch_fp32_images_per_s": round(fp32_rate, 1),
        "torch_bf16_channels_last_images_per_s": round(bf16_rate, 1),
        "onnx_vs_torch_bf16": round(onnx_rate / bf16_rate, 2),
        "decode_ms_per_photo": round(per_photo_decode * 1000, 2),
        "onnxruntime_with_decode_images_per_s": round(with_decode, 1),
        "cosine_onnx_vs_torch_fp32_min": round(float(cosine(onnx_features, fp32_features).min()), 5),
        "cosine_bf16_vs_torch_fp32_min": round(float(cosine(bf16_features, fp32_features).min()), 5),
        "catalog_photos": catalog_size,
        "catalog_minutes_estimate": round(catalog_size / with_decode / 60, 1),
    }
    r = results["embedding"]
    print(f"[embed] {r['input']}: onnxruntime {r['onnxruntime_images_per_s']} img/s, torch fp32 "
          f"{r['torch_fp32_images_per_s']}, torch bf16 {r['torch_bf16_channels_last_images_per_s']} "
          f"(onnx x{r['onnx_vs_torch_bf16']} of bf16); cosine to fp32 min: onnx "
          f"{r['cosine_onnx_vs_torch_fp32_min']}, bf16 {r['cosine_bf16_vs_torch_fp32_min']}; "
          f"with decode {r['onnxruntime_with_decode_images_per_s']} img/s -> "
          f"{catalog_size} photos in {r['catalog_minutes_estimate']} min", flush=True)

    memory = {}
    for runtime, weights in (("onnxruntime", onnx_path), ("torch", CHECKPOINT)):
        run = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(ROOT), runtime, str(weights),
                              *paths[:16]], capture_output=True, text=True, check=True)
        memory[runtime] = {k: round(v, 1) if isinstance(v, float) else v
                           for k, v in json.loads(run.stdout.splitlines()[-1]).items()}
    results["memory"] = memory
    print(f"[memory] fresh process with the encoder loaded and one batch embedded: "
          f"onnxruntime {memory['onnxruntime']['rss_mb']} MB RSS (+{memory['onnxruntime']['growth_mb']}), "
          f"torch {memory['torch']['rss_mb']} MB RSS (+{memory['torch']['growth_mb']})", flush=True)
    return encoder


def load_catalog_vectors(models_dir, size, dim):
    from ml.artifacts import ArtifactError
    from ml.vision.search import ImageSearch

    try:
        search = ImageSearch.load(models_dir)
        skus = search.index.skus
        matrix = np.stack([search.index.vector(s) for s in skus]).astype(np.float32)
        return search, skus, matrix, f"served image-embeddings {search.card.get('version')}"
    except ArtifactError:
        rng = np.random.default_rng(0)
        centres = rng.normal(size=(140, dim))
        matrix = centres[rng.integers(0, 140, size)] + 0.8 * rng.normal(size=(size, dim))
        matrix = (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)
        return None, [str(i) for i in range(len(matrix))], matrix, "synthetic clustered vectors"


def bench_index(skus, matrix, queries, results, k=10):
    raw = matrix.nbytes
    exact = VectorIndex.build(skus, matrix, backend="exact")
    t0 = time.perf_counter()
    hnsw = VectorIndex.build(skus, matrix, backend="hnsw")
    build_s = time.perf_counter() - t0
    naive_t, exact_t, hnsw_t, recalls = [], [], [], []
    for q in queries:
        t0 = time.perf_counter()
        exact_topk(q, matrix, k)
        naive_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ex = exact.search(q, k)
        exact_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ap = hnsw.search(q, k)
        hnsw_t.append(time.perf_counter() - t0)
        recalls.append(len({s for s, _ in ex} & {s for s, _ in ap}) / k)
    results["index"] = {
        "items": len(skus), "dim": matrix.shape[1], "queries": len(queries),
        "naive": rounded(percentiles(ms(naive_t))), "exact": rounded(percentiles(ms(exact_t))),
        "hnsw": rounded(percentiles(ms(hnsw_t))),
        "hnsw_recall@10_vs_exact": round(float(np.mean(recalls)), 4),
        "hnsw_build_s": round(build_s, 1), "raw_float32_mb": round(raw / 2 ** 20, 1),
        "hnsw_memory_vs_raw": round(hnsw.memory_bytes() / raw, 3), "hnsw_params": hnsw.params,
    }
    r = results["index"]
    print(f"[index] {len(skus)} x {matrix.shape[1]}: naive p50 {r['naive']['p50']} ms; exact "
          f"{r['exact']['p50']} ms; hnsw {r['hnsw']['p50']} / p99 {r['hnsw']['p99']} ms, recall@10 "
          f"{r['hnsw_recall@10_vs_exact']}, memory {r['hnsw_memory_vs_raw']}x raw", flush=True)
    return exact, hnsw


def bench_photo_search(encoder, exact, hnsw, matrix, paths, results, k=10, served=None):
    naive_t, exact_t, hnsw_t, served_t = [], [], [], []
    encoder.embed([paths[0]])   # warm-up
    for path in paths:
        for index, times in ((None, naive_t), (exact, exact_t), (hnsw, hnsw_t)):
            t0 = time.perf_counter()
            vector = encoder.embed([path])[0]
            if index is None:
                exact_topk(vector, matrix, k)
            else:
                index.search(vector, k)
            times.append(time.perf_counter() - t0)
        if served is not None:
            t0 = time.perf_counter()
            served.similar_to_image(path, k)
            served_t.append(time.perf_counter() - t0)
    results["photo_search"] = {"queries": len(paths), "encoder": encoder.name,
                               "naive": rounded(percentiles(ms(naive_t))),
                               "exact": rounded(percentiles(ms(exact_t))),
                               "hnsw": rounded(percentiles(ms(hnsw_t)))}
    if served_t:
        results["photo_search"]["served, ranked"] = rounded(percentiles(ms(served_t)))
    r = results["photo_search"]
    print(f"[photo search] decode+forward+search p50/p99: naive {r['naive']['p50']}/"
          f"{r['naive']['p99']} ms, exact {r['exact']['p50']}/{r['exact']['p99']} ms, "
          f"hnsw {r['hnsw']['p50']}/{r['hnsw']['p99']} ms"
          + (f", served with ranking {r['served, ranked']['p50']}/{r['served, ranked']['p99']} ms"
             if served_t else ""), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models-dir", default=os.environ.get("MODELS_DIR", str(ROOT / "models")))
    parser.add_argument("--photos", type=int, default=256)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    results = {"cpu_count": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    rows = photo_rows(CSV, IMAGES)
    _, val_rows = split_rows(rows)
    # Half 180x240 photos, half 60x80 ones: the catalog has both.
    large = [r["photos"][0] for r in val_rows if len(r["photos"]) > 1]
    small = [r["photos"][-1] for r in val_rows if len(r["photos"]) == 1]
    paths = [p for pair in zip(large, small) for p in pair][:args.photos]

    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = SHIPPED_ONNX
        if not onnx_path.is_file():
            from ml.vision.encoders import export_onnx, load_checkpoint
            onnx_path = export_onnx(load_checkpoint(CHECKPOINT), Path(tmp) / "encoder.onnx")
        encoder = bench_embedding(onnx_path, paths, len(rows), results)
        encoder = OnnxEncoder(onnx_path, colour_weight=DEFAULT_COLOUR_WEIGHT)
        search, skus, matrix, source = load_catalog_vectors(args.models_dir, len(rows),
                                                            encoder.feature_dim + COLOUR_DIM)
    results["vectors"] = source
    # Held-out queries: left out of the index, as an unseen photo would be.
    rng = np.random.default_rng(1)
    picks = rng.choice(len(matrix), min(args.queries, len(matrix) // 2), replace=False)
    keep = np.setdiff1d(np.arange(len(matrix)), picks)
    queries = matrix[picks]
    skus, matrix = [skus[i] for i in keep], np.ascontiguousarray(matrix[keep])
    exact, hnsw = bench_index(skus, matrix, queries, results)
    bench_photo_search(search.encoder if search else encoder, exact, hnsw, matrix, paths[:100],
                       results, served=search)

    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "vision.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"-> {out / 'vision.json'}")


if __name__ == "__main__":
    main()
