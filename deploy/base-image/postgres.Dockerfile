# The local PostgreSQL image for the compose smoke test (no registry here): Debian's postgresql
# (15 on bookworm) on the local base, with the part of the official postgres image's interface
# DockBack's compose file uses: POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD_FILE, PGDATA,
# pg_isready. Anywhere a registry answers, compose.yaml uses the official image instead.
ARG DEBIAN_IMAGE=dockback-local/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
 && chmod 0700 /var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data LANG=C.UTF-8
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["postgres-entrypoint"]
CMD ["postgres"]
