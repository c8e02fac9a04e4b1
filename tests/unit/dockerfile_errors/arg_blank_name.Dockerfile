# error: Dockerfile:2: ARG names can not be blank
ARG =1
FROM busybox
