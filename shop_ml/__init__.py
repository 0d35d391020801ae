"""The one Django-side door to the plain-Python `ml/` package.

`shop_ml.facade` serves the models to views and forms; `shop_ml.tasks` runs
background ML work on Celery; `shop_ml.management` holds the ML commands and
the glue that turns products into plain rows for `ml/`. Apps import ML only
through `shop_ml.facade` (and `shop_ml.tasks` to queue work); `ml/` never
imports Django or an app.
"""
