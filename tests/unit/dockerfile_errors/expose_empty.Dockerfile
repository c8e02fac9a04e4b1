# error: Dockerfile:4: EXPOSE requires at least one argument
FROM busybox
EXPOSE 80
EXPOSE
