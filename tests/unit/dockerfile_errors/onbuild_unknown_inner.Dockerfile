# error: Dockerfile:3: unknown instruction: RUNN
FROM busybox
ONBUILD RUNN true
