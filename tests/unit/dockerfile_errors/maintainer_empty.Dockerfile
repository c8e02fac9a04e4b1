# error: Dockerfile:3: MAINTAINER requires exactly one argument
FROM busybox
MAINTAINER
