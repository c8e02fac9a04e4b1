# error: Dockerfile:3: CMD requires at least one argument
FROM busybox
CMD
