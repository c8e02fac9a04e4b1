# error: Dockerfile:3: Unknown flag: from
FROM busybox
ENV --from=x A=1
