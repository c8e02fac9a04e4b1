# error: Dockerfile:4: Unknown flag: frm
FROM busybox AS build
FROM busybox
COPY --frm=build /a /b
