# Stand-in for nginx:1.27: Debian bookworm's nginx (1.22), reading /etc/nginx/conf.d/*.conf.
FROM fashionshop-standin/debian:bookworm
LABEL com.fashionshop.standin=true \
      org.opencontainers.image.description="Stand-in for nginx:1.27 for testing (Debian nginx-light 1.22), made by deploy/standins/build.sh"
RUN apt-get update && apt-get install -y nginx-light && rm -rf /var/lib/apt/lists/* \
 && rm -f /etc/nginx/sites-enabled/default \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
