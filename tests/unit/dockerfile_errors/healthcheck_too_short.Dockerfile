# error: Dockerfile:3: Interval "timeout" cannot be less than 1ms
FROM busybox
HEALTHCHECK --timeout=10us CMD true
