# The local Node.js image for the web UI's build stage: this machine's Node.js (a self-contained
# binary, >= 20.19) and npm on the local Python base. Plays the part of node:20-slim.
ARG PYTHON_IMAGE=dockback-local/python:3.11
FROM ${PYTHON_IMAGE}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
