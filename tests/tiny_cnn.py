"""A tiny CNN image encoder for tests: a few thousand parameters, so every code path of
training, checkpoints, ONNX export and photo search runs in milliseconds.

It is not part of the shop: checkpoints naming arch "tiny" load only while a test
uses the `tiny_architecture` fixture (tests/conftest.py), which registers it in
`ml.vision.encoders.ARCHITECTURES`.
"""
from torch import nn


class TinyCNN(nn.Module):
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


def tiny_network(num_classes, extra):
    """The ARCHITECTURES builder for a checkpoint saved from a TinyCNN."""
    return TinyCNN(dim=int(extra.get("dim", 16)), num_classes=num_classes)
