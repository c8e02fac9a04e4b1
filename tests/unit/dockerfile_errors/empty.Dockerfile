# error: Dockerfile:1: the Dockerfile (Dockerfile) cannot be empty
