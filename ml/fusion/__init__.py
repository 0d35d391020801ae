"""Categorizing a listing from its name and its photo together (plain Python).

`colour.py` reads colour statistics from the photo's pixels, `evidence.py`
turns photos into what the photo models read (encoder features, its
article-type logits, colour statistics) and caches them on disk, `model.py`
holds the photo heads and the fused categorizer, `training.py` fits them on
the validation split of both base models and saves the `categorizer-fused`
artifact.
"""
