# error: Dockerfile:3: time: missing unit in duration "30"
FROM busybox
HEALTHCHECK --interval=30 CMD true
