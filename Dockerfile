# One image for web (daphne), worker and beat.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN useradd --create-home --uid 10001 telepsych
COPY pyproject.toml README.md ./
COPY telepsych ./telepsych
COPY accounts ./accounts
COPY scheduling ./scheduling
COPY sessions ./sessions
COPY records ./records
COPY crisis ./crisis
RUN pip install --no-cache-dir .
COPY . .
# collectstatic needs settings, not secrets: build-time placeholders never reach a running container.
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY=build DJANGO_ALLOWED_HOSTS=build DATABASE_URL=sqlite:////tmp/b.sqlite3 \
    REDIS_URL=redis://build TELEPSYCH_ENCRYPTION_KEYS=build python manage.py collectstatic --noinput \
 && chown -R telepsych /app
USER telepsych
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "--websocket_connect_timeout", "20", "telepsych.asgi:application"]
