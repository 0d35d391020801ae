# Stand-in for python:3.11-slim: Debian bookworm's python3 (3.11) at /usr/local/bin/python.
FROM fashionshop-standin/debian:bookworm
LABEL com.fashionshop.standin=true \
      org.opencontainers.image.description="Stand-in for python:3.11-slim for testing (Debian python3 3.11), made by deploy/standins/build.sh"
# Debian marks its Python externally managed; the official image lets pip install
# into the system interpreter, so the marker goes.
RUN apt-get update \
 && apt-get install -y python3 python3-pip python3-venv \
 && rm -rf /var/lib/apt/lists/* /usr/lib/python3.11/EXTERNALLY-MANAGED \
 && ln -s /usr/bin/python3 /usr/local/bin/python \
 && ln -s /usr/bin/pip3 /usr/local/bin/pip
# The host's CA bundle: pip's TLS connections from a build are verified against it.
COPY host-ca-certificates.crt /usr/local/share/ca-certificates-host.crt
ENV PIP_CERT=/usr/local/share/ca-certificates-host.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1
CMD ["python3"]
