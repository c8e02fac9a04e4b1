# error: Dockerfile:3: Expecting boolean value for flag link, not: yes
FROM busybox
COPY --link=yes /x /y
