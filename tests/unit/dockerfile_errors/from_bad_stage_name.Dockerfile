# error: Dockerfile:3: invalid name for build stage: "1st"
FROM busybox
FROM busybox AS 1st
