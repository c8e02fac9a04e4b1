# error: Dockerfile:9: unknown instruction: COPPY
FROM busybox
RUN <<EOF cat > /a && <<EOT cat > /b
FROM not-an-instruction
EOF
RUN not an instruction either
EOT
# the next line is the faulty one
COPPY a b
