# Production images, two targets of one file (docker-compose.yml builds both):
#   web     gunicorn serving the shop; nginx serves static and media files in front of it.
#   worker  the Celery worker, migrations and training: the web image plus the
#           training libraries; torch only with --build-arg IMAGE_TRAINING=1.
# `docker build .` builds the last target, worker, which can also serve.
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE} AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_ENV=production

RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 shop

WORKDIR /app

# Dependencies in their own layer: code changes do not reinstall them.
FROM base AS web-deps
COPY requirements/web.txt requirements/
RUN pip install -r requirements/web.txt

FROM web-deps AS web
# The code belongs to root: the shop user writes only uploads, models and static files.
COPY . .
# collectstatic needs settings but no real secret or database.
RUN SECRET_KEY=collectstatic-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput -v0 \
 && mkdir -p /app/media /app/models && chown -R shop:shop /app/media /app/models /app/staticfiles
USER shop
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["gunicorn", "--config", "fashionshop/gunicorn.conf.py", "fashionshop.wsgi:application"]

# Photos are embedded with ONNX Runtime; torch is needed only to fine-tune the image
# encoder and export it. From PyPI torch is the CUDA build: 2.9 GB of wheels, a 6.5 GB
# image. IMAGE_TRAINING=1 adds it; PIP_EXTRA_INDEX_URL can name a CPU-only wheel
# index instead (docs/deploy.md).
FROM web-deps AS worker
ARG IMAGE_TRAINING=0
ARG PIP_EXTRA_INDEX_URL
COPY requirements/worker.txt requirements/image-training.txt requirements/
RUN pip install -r requirements/worker.txt \
 && if [ "$IMAGE_TRAINING" = 1 ]; then pip install -r requirements/image-training.txt; fi
COPY --from=web /app /app
USER shop
HEALTHCHECK --interval=30s --timeout=20s --start-period=60s \
  CMD celery -A fashionshop inspect ping --timeout 10 -d "celery@$HOSTNAME" >/dev/null
CMD ["celery", "-A", "fashionshop", "worker", "--loglevel=info", "--concurrency=2"]
