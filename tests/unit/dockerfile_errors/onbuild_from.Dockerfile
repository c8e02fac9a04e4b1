# error: Dockerfile:3: FROM isn't allowed as an ONBUILD trigger
FROM busybox
onbuild from alpine
