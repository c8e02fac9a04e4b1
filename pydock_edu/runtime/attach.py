"""The attach stream between a container's shim and a client (``run``, ``start -a``, ``attach``).

Frames are Docker's multiplexed-stream format: an 8-byte header ``[stream, 0, 0, 0, length:4]``
then ``length`` bytes. Streams 0, 1, 2 are stdin, stdout and stderr; stream 3 carries small JSON
control messages: ``{"exit": code}`` from the shim, ``{"close_stdin": true}`` and
``{"resize": [rows, cols]}`` from the client.
"""

import json
import os
import select
import struct

STDIN, STDOUT, STDERR, CONTROL = 0, 1, 2, 3
HEADER = struct.Struct(">BxxxI")


def frame(stream, data):
    return HEADER.pack(stream, len(data)) + data


def control(message):
    return frame(CONTROL, json.dumps(message).encode())


class FrameReader:
    """Collects bytes from a socket and yields whole frames as (stream, data)."""

    def __init__(self):
        self.buffer = b""

    def feed(self, data):
        self.buffer += data
        while len(self.buffer) >= HEADER.size:
            stream, length = HEADER.unpack_from(self.buffer)
            if len(self.buffer) < HEADER.size + length:
                break
            payload = self.buffer[HEADER.size:HEADER.size + length]
            self.buffer = self.buffer[HEADER.size + length:]
            yield stream, payload


def relay(sock, output, stdin_fd=None):
    """Client side: show the container's output and send it our stdin; return its exit code.

    ``output(stream, data)`` receives stdout/stderr bytes. Returns None if the stream ended
    without an exit code (the client detached, or the shim went away).
    """
    reader = FrameReader()
    watch = [sock] + ([stdin_fd] if stdin_fd is not None else [])
    while True:
        ready, _, _ = select.select(watch, [], [])
        if stdin_fd in ready:
            data = os.read(stdin_fd, 65536)
            if data:
                sock.sendall(frame(STDIN, data))
            else:
                sock.sendall(control({"close_stdin": True}))
                watch.remove(stdin_fd)
        if sock in ready:
            data = sock.recv(65536)
            if not data:
                return None
            for stream, payload in reader.feed(data):
                if stream == CONTROL:
                    message = json.loads(payload)
                    if "exit" in message:
                        return message["exit"]
                else:
                    output(stream, payload)
