# error: Dockerfile:3: VOLUME specified can not be an empty string
FROM busybox
VOLUME ["/data", " "]
