"""Catalog products whose stored label both the name and the photo contradict.

A product is a likely mislabel for a field when the name model and the photo
model name the same other label, each at least `threshold` sure. Ranked by
the weaker of the two probabilities: the first rows are those where both
models are surest. The models learnt from the stored labels too, so a label
they overrule anyway is a strong sign; the list is conservative, not complete.
"""
import numpy as np

from .model import FIELDS

MISLABEL_FIELDS = ("articleType", "baseColour", "gender", "usage")
THRESHOLD = 0.9
BATCH = 4096


def find(rows, evidence, fused, name_model, threshold=THRESHOLD, progress=None):
    """[{sku, name, field, stored, suggested, name_probability, photo_probability,
    confidence, changes}] over `rows` (aligned with `evidence`), surest first.

    `changes` are the catalog fields a correction sets: an article type brings
    its subcategory and master category along when they differ.
    """
    fields = [f for f in MISLABEL_FIELDS if f in FIELDS and f in name_model.heads]
    tax = name_model.taxonomy
    found = []
    for start in range(0, len(rows), BATCH):
        chunk = rows[start:start + BATCH]
        part = {p: v[start:start + BATCH] for p, v in evidence.items()}
        p_name = fused.name_probabilities(name_model, [r["productDisplayName"] for r in chunk])
        p_photo = fused.photo_probabilities(name_model, part)
        for field in fields:
            classes = name_model.heads[field].classes
            name_idx, photo_idx = p_name[field].argmax(axis=1), p_photo[field].argmax(axis=1)
            rows_idx = np.arange(len(chunk))
            name_p = p_name[field][rows_idx, name_idx]
            photo_p = p_photo[field][rows_idx, photo_idx]
            agree = (name_idx == photo_idx) & (name_p >= threshold) & (photo_p >= threshold)
            for i in np.flatnonzero(agree):
                row, suggested = chunk[i], str(classes[name_idx[i]])
                if not row.get(field) or row[field] == suggested:
                    continue
                changes = {field: suggested}
                if field == "articleType":
                    sub = tax.sub(suggested)
                    if sub and sub != row.get("subCategory"):
                        changes["subCategory"] = sub
                        master = tax.master(sub)
                        if master and master != row.get("masterCategory"):
                            changes["masterCategory"] = master
                found.append({"sku": str(row["id"]), "name": row["productDisplayName"],
                              "field": field, "stored": row[field], "suggested": suggested,
                              "name_probability": round(float(name_p[i]), 4),
                              "photo_probability": round(float(photo_p[i]), 4),
                              "confidence": round(float(min(name_p[i], photo_p[i])), 4),
                              "changes": changes})
        if progress:
            progress(min(start + BATCH, len(rows)))
    found.sort(key=lambda item: (-item["confidence"], item["sku"], item["field"]))
    return found
