# error: Dockerfile:3: Unknown flag: mnt
FROM busybox
RUN --network=none \
    --mnt=type=cache,target=/root/.cache \
    echo hi
