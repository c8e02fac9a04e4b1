# error: Dockerfile:3: no build stage in current context
ARG A
ARG B
