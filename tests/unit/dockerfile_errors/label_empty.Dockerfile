# error: Dockerfile:3: LABEL requires at least one argument
FROM busybox
LABEL
