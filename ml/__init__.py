"""Machine learning for the shop, in plain Python.

Only `ml.facade`, `ml.apps` and `ml.management` know about Django; everything
else here takes plain rows and arrays so it can be trained, tested and
benchmarked without a database.
"""
