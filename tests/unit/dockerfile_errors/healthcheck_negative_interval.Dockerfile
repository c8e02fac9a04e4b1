# error: Dockerfile:3: Interval "interval" cannot be less than 1ms
FROM busybox
HEALTHCHECK --interval=-5s CMD true
