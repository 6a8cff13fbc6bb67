# One image for every process of docker-compose.yml: web (gunicorn), workers, beat, migrate.
# The outline map of Japan (places.maps) comes from the npm registry, as `make install` gets it.
FROM node:20-slim AS map
RUN npm install --prefix /map --no-save --no-audit --no-fund @svg-maps/japan@2.0.0

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app/platform:/app \
    FURUSATO_VAR_DIR=/var/lib/furusato \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    FURUSATO_MAP_SVG=/app/map/japan.svg

RUN apt-get update \
    && apt-get install --yes --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin furusato

WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir .

COPY . .
COPY --from=map /map/node_modules/@svg-maps/japan/japan.svg /app/map/japan.svg
# Build-time steps need no secrets: they run on the embedded settings.
RUN DJANGO_SETTINGS_MODULE=config.settings.base python manage.py compilemessages -v0 \
    && DJANGO_SETTINGS_MODULE=config.settings.base python manage.py collectstatic --noinput -v0 \
    && mkdir -p /var/lib/furusato/media /var/lib/furusato/private \
    && chown -R furusato /var/lib/furusato

USER furusato
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
