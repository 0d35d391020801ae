"""Recommendations: content-based similar items, collaborative filtering, a hybrid
with a cold-start chain, offline evaluation and simulated shoppers.

Plain Python: nothing here imports Django. Products and interactions arrive as
plain dicts (see `catalog.normalise_product` and `collaborative.Interaction`
fields); `ml/facade.py` and `ml/management/` translate from the database.
"""
