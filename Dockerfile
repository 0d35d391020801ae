# Production image: gunicorn serving the Django app; nginx (docker-compose.yml)
# serves static and media files in front of it.
FROM python:3.11-slim AS base

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
# torch is pinned in requirements.txt; the CPU wheel index keeps the image small.
COPY requirements.txt .
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt

COPY --chown=shop:shop . .

# collectstatic needs settings but no real secret or database.
RUN SECRET_KEY=collectstatic-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput -v0 \
 && mkdir -p /app/media /app/models && chown -R shop:shop /app/media /app/models /app/staticfiles

USER shop
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["gunicorn", "--config", "fashionshop/gunicorn.conf.py", "fashionshop.wsgi:application"]
