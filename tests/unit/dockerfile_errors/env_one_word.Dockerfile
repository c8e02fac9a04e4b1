# error: Dockerfile:3: ENV must have two arguments
FROM busybox
ENV ONLYKEY
