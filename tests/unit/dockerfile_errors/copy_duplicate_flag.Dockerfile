# error: Dockerfile:3: Duplicate flag specified: from
FROM busybox
COPY --from=a --from=b /x /y
