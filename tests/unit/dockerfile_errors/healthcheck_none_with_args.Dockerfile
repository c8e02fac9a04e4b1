# error: Dockerfile:3: HEALTHCHECK NONE takes no arguments
FROM busybox
HEALTHCHECK NONE please
