# error: Dockerfile:3: COPY requires at least two arguments, but only one was provided. Destination could not be determined
FROM busybox
COPY onlyone
