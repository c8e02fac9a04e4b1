# error: Dockerfile:3: STOPSIGNAL requires exactly one argument
FROM busybox
STOPSIGNAL
