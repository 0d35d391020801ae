"""Answer listings — a name, a photo, or both — with the fused categorizer.

One `predict` call decodes every photo it can, runs one batched forward pass
over them and pools each with its name. A listing whose photo cannot be read
is answered from its name, with the reason in `photo_error`; a listing with
no photo is the name model's answer as it is.
"""
import numpy as np

from ml.vision.preprocess import ImageError, to_uint8

from .evidence import evidence_of_batch


class ListingCategorizer:
    """The fused categorizer with the image encoder it was fitted on."""

    def __init__(self, fused, encoder, card=None):
        self.fused = fused
        self.encoder = encoder
        self.card = card or {}

    def predict(self, name_model, items):
        """One dict per (name, photo) item, in order: the `categorize` fields plus
        `source` ("fused", "photo" or "name"), and `photo`, `name_only`,
        `disagreements` where a photo was read, or `photo_error` where it was not."""
        items = [("" if name is None else str(name), photo) for name, photo in items]
        results = [None] * len(items)
        arrays, readable, errors = [], [], {}
        for i, (_, photo) in enumerate(items):
            if photo is None:
                continue
            try:
                arrays.append(to_uint8(photo, self.encoder.preprocess))
                readable.append(i)
            except (ImageError, OSError) as exc:
                errors[i] = str(exc)
        if readable:
            evidence = evidence_of_batch(self.encoder, np.stack(arrays))
            answers = self.fused.predict(name_model, [items[i][0] for i in readable], evidence)
            for i, answer in zip(readable, answers):
                answer["source"] = "fused" if items[i][0].strip() else "photo"
                results[i] = answer
        rest = [i for i in range(len(items)) if results[i] is None]
        if rest:
            for i, answer in zip(rest, name_model.predict([items[i][0] for i in rest])):
                answer["source"] = "name"
                if i in errors:
                    answer["photo_error"] = errors[i]
                results[i] = answer
        return results
