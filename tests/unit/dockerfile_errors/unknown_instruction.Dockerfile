# error: Dockerfile:7: unknown instruction: RUNN
FROM busybox

RUN echo one
# a comment
ENV A=1
RUNN echo two
