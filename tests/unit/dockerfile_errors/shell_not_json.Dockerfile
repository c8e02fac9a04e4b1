# error: Dockerfile:3: SHELL requires the arguments to be in JSON form
FROM busybox
SHELL /bin/bash -c
