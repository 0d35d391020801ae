"""A small world for the fused categorizer's tests: real catalog rows and their shipped
60x80 photos, a random tiny CNN exported to ONNX as the image encoder, and models
fitted on them in a temporary MODELS_DIR in seconds. Nothing from models/ is read."""
from pathlib import Path

import torch

from ml.categorization import training as name_training
from ml.fusion import training as fusion_training
from ml.fusion.evidence import cached_evidence
from ml.styles_csv import load_rows
from ml.vision.encoders import LoadedNetwork, export_onnx
from ml.vision.preprocess import Preprocess
from ml.vision.runtime import OnnxEncoder
from tests.tiny_cnn import TinyCNN

REPO = Path(__file__).resolve().parents[1]
CSV = REPO / "data" / "styles.csv"
SMALL = REPO / "data" / "images_small"
SPEC = Preprocess(height=40, width=30, reduce_to=(80, 60))


def world_rows(fusion=30, other=420):
    """`fusion` rows of the fusion split and `other` rows outside it, each with a photo."""
    rows, _ = load_rows(CSV)
    rows = [r for r in name_training.usable_rows(rows) if (SMALL / f"{r['id']}.jpg").is_file()]
    inside = [r for r in rows if fusion_training.is_fusion_validation(r)][:fusion]
    outside = [r for r in rows if not fusion_training.is_fusion_validation(r)][:other]
    return [{**r, "photo": str(SMALL / f"{r['id']}.jpg")} for r in inside + outside]


def tiny_encoder_file(path, classes=("Shirts", "Tshirts", "Jeans")):
    torch.manual_seed(0)
    network = TinyCNN(dim=16, num_classes=len(classes)).eval()
    return export_onnx(LoadedNetwork(network, SPEC, "tiny", list(classes), "random"), path)


def fit_fused(models_dir, rows, encoder_path):
    """(name model, ListingCategorizer parts): a name model on the name train split and a
    fused categorizer saved as the served `categorizer-fused` of `models_dir`."""
    train_rows, val_rows = name_training.split_rows(rows)
    name_model = name_training.train(train_rows, "default", val_rows=val_rows, n_features=None)
    encoder = OnnxEncoder(encoder_path)
    skus, evidence, _ = cached_evidence([(r["id"], r["photo"]) for r in rows], encoder,
                                        encoder_path, Path(models_dir) / "cache", progress=False)
    fused, card, comparison = fusion_training.train_and_evaluate(
        rows, skus, evidence, name_model, encoder.classes)
    folder = fusion_training.save(models_dir, fused, card, encoder_path)
    return name_model, fused, folder, comparison
