# error: Dockerfile:2: ARG requires at least one argument
ARG
FROM busybox
