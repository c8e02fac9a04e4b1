# error: Dockerfile:3: no build stage in current context
ARG VERSION=1
RUN echo too early
FROM busybox
