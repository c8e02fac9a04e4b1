# error: Dockerfile:3: Unknown type "CURL" in HEALTHCHECK (try CMD)
FROM busybox
HEALTHCHECK curl -f http://localhost/
