# error: Dockerfile:3: Missing command after HEALTHCHECK CMD
FROM busybox
HEALTHCHECK --interval=5s CMD
