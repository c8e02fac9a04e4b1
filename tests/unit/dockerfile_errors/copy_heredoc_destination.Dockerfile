# error: Dockerfile:3: COPY cannot accept a heredoc as a destination
FROM busybox
COPY file <<EOF
hello
EOF
