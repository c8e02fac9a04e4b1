"""Gzip for pushing layers: deterministic, and quick on data that does not compress.

A registry names a layer by the sha256 of its *compressed* bytes, so the same layer must always
compress to the same bytes, or every push would upload a "new" blob. The gzip header therefore
carries no file name and a modification time of 0, and the output depends only on the input.

The tar is deflated in chunks of 1 MiB, each by a fresh compressor primed with the previous 32 KiB
(its window), each ended with a *sync flush*: an empty stored block that ends the chunk on a byte
boundary, so the chunks concatenate into one valid deflate stream (pigz works this way). That lets
every chunk choose its level: a chunk whose 64 KiB sample will not shrink (random data, already
compressed files) is stored as is (level 0) instead of spending CPU time on failing to compress it.
The stream ends with an empty final block, then the CRC-32 and length of the input, as RFC 1952 asks.
"""

import zlib

CHUNK = 1 << 20
WINDOW = 32 << 10
SAMPLE = 64 << 10
LEVEL = 6  # zlib's default, as Docker's gzip uses
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # gzip, deflate, no flags, mtime 0, unknown OS
FINAL_BLOCK = b"\x03\x00"  # an empty fixed-Huffman block with BFINAL set


def _level(chunk):
    """0 (store) when a sample of ``chunk`` does not shrink by at least 3 % at the fastest level."""
    sample = chunk[:SAMPLE]
    return LEVEL if len(zlib.compress(sample, 1)) < len(sample) * 0.97 else 0


def gzip_stream(source, on_read=None):
    """Yield the gzip compression of the binary file ``source``, chunk by chunk.

    ``on_read(n)`` is called with the number of input bytes after each chunk (for progress).
    """
    yield HEADER
    crc, size, window = 0, 0, b""
    while chunk := source.read(CHUNK):
        compressor = zlib.compressobj(_level(chunk), zlib.DEFLATED, -zlib.MAX_WBITS,
                                      **({"zdict": window} if window else {}))
        yield compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)
        crc = zlib.crc32(chunk, crc)
        size += len(chunk)
        window = chunk[-WINDOW:]
        if on_read:
            on_read(size)
    yield FINAL_BLOCK + crc.to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little")
