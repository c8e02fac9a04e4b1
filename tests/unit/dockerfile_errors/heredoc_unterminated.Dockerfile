# error: Dockerfile:3: unterminated heredoc <<EOF
FROM busybox
RUN <<EOF
echo one
echo two
EOFF
