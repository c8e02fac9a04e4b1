# error: Dockerfile:4: unknown instruction: EVN
FROM busybox

EVN A=1 \
    B=2
