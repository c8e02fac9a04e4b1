# error: Dockerfile:3: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed
FROM busybox
ONBUILD ONBUILD RUN true
