"""Machine learning for the shop, in plain Python.

Nothing here imports Django or an app (tests/ml/test_plain_python.py enforces
it): everything takes plain rows, paths and arrays, so it can be trained,
tested and benchmarked without a database. `shop_ml/` is the Django side.
"""
