# error: Dockerfile:3: Syntax error - can't find = in "b". Must be of the form: name=value
FROM busybox
ENV a=1 b
