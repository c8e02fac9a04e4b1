# error: Dockerfile:3: --retries cannot be negative (-1)
FROM busybox
HEALTHCHECK --retries=-1 CMD true
