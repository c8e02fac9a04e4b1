# error: Dockerfile:3: Missing a value on flag: chown
FROM busybox
COPY --chown /x /y
