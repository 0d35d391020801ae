# Stand-in for redis:7: Debian bookworm's redis-server (7.0).
FROM fashionshop-standin/debian:bookworm
LABEL com.fashionshop.standin=true \
      org.opencontainers.image.description="Stand-in for redis:7 for testing (Debian redis-server 7.0), made by deploy/standins/build.sh"
RUN apt-get update && apt-get install -y redis-server && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown redis:redis /data
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["sh", "/usr/local/bin/docker-entrypoint.sh"]
CMD ["redis-server"]
