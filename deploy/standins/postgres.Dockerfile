# Stand-in for postgres:15: Debian bookworm's PostgreSQL 15 with the official
# image's POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB initialisation.
FROM fashionshop-standin/debian:bookworm
LABEL com.fashionshop.standin=true \
      org.opencontainers.image.description="Stand-in for postgres:15 for testing (Debian postgresql-15), made by deploy/standins/build.sh"
# The data directory is made by the entrypoint, not by the package's default cluster.
RUN mkdir -p /etc/postgresql-common \
 && echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf \
 && apt-get update && apt-get install -y postgresql-15 && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["sh", "/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
