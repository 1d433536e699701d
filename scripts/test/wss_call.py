#!/usr/bin/env python3
"""One Vonage-style call over wss://, for scripts/test/nginx-e2e.sh. Standard library only.

Plays the Vonage side of a call: upgrade (TLS verified against --cafile), the start
message with the audio format and AWS credentials, then, after the server's `ok`,
DTMF `1` `#` while streaming silence in real time (one 20 ms frame every 20 ms, on
absolute deadlines), collecting the server's frames; then a 1000 close and its echo.

Prints one TAP-like line per check ("ok - ..." / "not ok - ...") and exits 1 when a
check failed.
"""

import argparse
import asyncio
import base64
import hashlib
import json
import os
import ssl
import struct
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


class Checks:
    def __init__(self):
        self.failed = 0

    def check(self, condition, description, detail=""):
        if condition:
            print(f"ok - {description}", flush=True)
        else:
            self.failed += 1
            print(f"not ok - {description}" + (f": {detail}" if detail else ""), flush=True)
        return condition


def encode_frame(opcode, payload):
    """A client frame: FIN set, masked (RFC 6455 section 5.3)."""
    header = bytearray([0x80 | opcode])
    n = len(payload)
    if n < 126:
        header.append(0x80 | n)
    elif n < 1 << 16:
        header.append(0x80 | 126)
        header += struct.pack("!H", n)
    else:
        header.append(0x80 | 127)
        header += struct.pack("!Q", n)
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes(header) + mask + masked


async def read_frame(reader):
    """(fin, opcode, payload, was_masked) of the next server frame."""
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", await reader.readexactly(8))
    mask = await reader.readexactly(4) if b1 & 0x80 else None
    payload = await reader.readexactly(n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bool(b0 & 0x80), b0 & 0x0F, payload, mask is not None


class Call:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.texts = []
        self.binary_sizes = []
        self.first_binary_at = self.last_binary_at = None
        self.close = None  # (code, reason) of the server's close frame
        self.masked_frames = 0
        self.text_arrived = asyncio.Event()
        self.closed = asyncio.Event()
        self.frames_arrived = asyncio.Event()
        self.expect_frames = 0

    async def send(self, opcode, payload):
        self.writer.write(encode_frame(opcode, payload))
        await self.writer.drain()

    async def read_loop(self):
        try:
            while True:
                fin, opcode, payload, masked = await read_frame(self.reader)
                self.masked_frames += masked
                if opcode == TEXT:
                    self.texts.append(payload.decode("utf-8"))
                    self.text_arrived.set()
                elif opcode == BINARY:
                    self.last_binary_at = time.monotonic()
                    if self.first_binary_at is None:
                        self.first_binary_at = self.last_binary_at
                    self.binary_sizes.append(len(payload))
                    if len(self.binary_sizes) >= self.expect_frames:
                        self.frames_arrived.set()
                elif opcode == PING:
                    await self.send(PONG, payload)
                elif opcode == CLOSE:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    self.close = (code, payload[2:].decode("utf-8", "replace"))
                    self.closed.set()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed.set()


async def upgrade(args, checks):
    context = ssl.create_default_context(cafile=args.cafile)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(args.host, args.port, ssl=context, server_hostname=args.server_name), 10)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {args.path} HTTP/1.1",
        f"Host: {args.server_name}:{args.port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        "User-Agent: lexconnector-nginx-e2e",
    ]
    if args.authorization:
        lines.append(f"Authorization: {args.authorization}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    expected_accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    checks.check(status_line.startswith("HTTP/1.1 101"), "upgrade through nginx answers 101", status_line)
    checks.check(headers.get("sec-websocket-accept") == expected_accept, "Sec-WebSocket-Accept matches the key",
                 headers.get("sec-websocket-accept", "missing"))
    checks.check(headers.get("upgrade", "").lower() == "websocket", "Upgrade: websocket passed back by nginx")
    return reader, writer


async def run(args):
    checks = Checks()
    reader, writer = await upgrade(args, checks)
    if checks.failed:
        return checks
    call = Call(reader, writer)
    call.expect_frames = args.expect_frames
    read_task = asyncio.create_task(call.read_loop())

    start = {"event": "websocket:connected", "content-type": f"audio/l16;rate={args.rate}",
             "aws_key": args.key, "aws_secret": args.secret, "aws_region": args.region}
    if args.token:
        start["aws_session_token"] = args.token
    await call.send(TEXT, json.dumps(start).encode())
    try:
        await asyncio.wait_for(call.text_arrived.wait(), 10)
    except asyncio.TimeoutError:
        pass
    checks.check(call.texts[:1] == ["ok"], "start message answered `ok`", repr(call.texts[:3]))

    # DTMF 1 then # (ends the digits at once: sent to Lex as the text "1"),
    # while silence streams in real time.
    frame_bytes = args.rate // 50 * 2
    silence = bytes(frame_bytes)
    frames = args.seconds * 50
    began = time.monotonic()
    for i in range(frames):
        if i == 5:
            await call.send(TEXT, json.dumps({"event": "websocket:dtmf", "digit": "1", "duration": 100}).encode())
        if i == 10:
            await call.send(TEXT, json.dumps({"event": "websocket:dtmf", "digit": "#", "duration": 100}).encode())
        await call.send(BINARY, silence)
        delay = began + (i + 1) * 0.020 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    streamed = time.monotonic() - began
    checks.check(streamed < args.seconds + 0.5, f"streamed {frames} frames in real time", f"{streamed:.2f} s")

    # The reply (Lex stand-in: a 500 ms tone) plays one frame per 20 ms.
    try:
        await asyncio.wait_for(call.frames_arrived.wait(), 10)
    except asyncio.TimeoutError:
        pass
    sizes = call.binary_sizes
    checks.check(len(sizes) == args.expect_frames, f"{args.expect_frames} reply frames arrived",
                 f"{len(sizes)} frames")
    checks.check(sizes and all(n == frame_bytes for n in sizes), f"every reply frame is exactly {frame_bytes} bytes",
                 f"sizes {sorted(set(sizes))}")
    checks.check(call.masked_frames == 0, "server frames are unmasked")
    # 25 frames are due over 480 ms: arriving all at once would mean a buffer
    # (nginx's proxy_buffering) between the server's pacing and the caller.
    if call.first_binary_at is not None and len(sizes) >= 10:
        span = call.last_binary_at - call.first_binary_at
        due = (len(sizes) - 1) * 0.020
        checks.check(span >= due * 0.6, f"reply frames paced in real time (first to last {span * 1000:.0f} ms)",
                     f"due over {due * 1000:.0f} ms")

    await call.send(CLOSE, struct.pack("!H", 1000) + b"done")
    try:
        await asyncio.wait_for(call.closed.wait(), 10)
    except asyncio.TimeoutError:
        pass
    checks.check(call.close is not None and call.close[0] == 1000, "close 1000 echoed", repr(call.close))
    try:
        eof = await asyncio.wait_for(reader.read(1), 10)
        checks.check(eof == b"", "connection closed after the close handshake", repr(eof))
    except (asyncio.TimeoutError, ConnectionError, ssl.SSLError) as error:
        checks.check(isinstance(error, (ConnectionError, ssl.SSLError)), "connection closed after the close handshake",
                     repr(error))
    read_task.cancel()
    writer.close()
    extra = [t for t in call.texts[1:]]
    if extra:
        print(f"# other text messages from the server: {extra}")
    return checks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server-name", default="localhost", help="TLS SNI and certificate name")
    parser.add_argument("--cafile", required=True, help="PEM certificate(s) to trust")
    parser.add_argument("--path", default="/bots/ABCDEFGHIJ/botAliases/TSTALIASID/botLocales/en_US/sessions/e2e-call-1/utterance")
    parser.add_argument("--rate", type=int, default=16000, choices=[8000, 16000, 24000])
    parser.add_argument("--key", default="AKIDEXAMPLE")
    parser.add_argument("--secret", default="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    parser.add_argument("--token", default=None)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--authorization", default=None, help="Authorization header value for the upgrade")
    parser.add_argument("--seconds", type=int, default=2, help="seconds of silence to stream")
    parser.add_argument("--expect-frames", type=int, default=25)
    args = parser.parse_args()
    try:
        checks = asyncio.run(run(args))
    except Exception as error:  # a broken connection is a failed check, not a traceback
        print(f"not ok - call completed: {type(error).__name__}: {error}", flush=True)
        sys.exit(1)
    sys.exit(1 if checks.failed else 0)


if __name__ == "__main__":
    main()
