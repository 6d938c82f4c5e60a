# The local Python base image: Debian's python3 (3.11 on bookworm) with venv and pip, on the
# debootstrapped Debian that build.sh imported. Plays the part of python:3.11-slim.
ARG DEBIAN_IMAGE=dockback-local/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv python3-pip ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/python3 /usr/local/bin/python
ENV LANG=C.UTF-8 PYTHONUNBUFFERED=1
CMD ["python3"]
