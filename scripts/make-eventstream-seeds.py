#!/usr/bin/env python3
"""Writes the seeds of the `eventstream` fuzz target into fuzz/seeds-eventstream/.

Each seed is two control bytes (see fuzz/FuzzEventStream.swift) and a stream: the AWS
event stream vectors of Tests/LexTests/Vectors/eventstream.json, and a few Lex
StartConversation messages (an audio response, an exception, an intent result) built here.
Run from the repository root: python3 scripts/make-eventstream-seeds.py
"""
import json, os, struct, zlib

def header(name, type_, value=b""):
    n = name.encode()
    return bytes([len(n)]) + n + bytes([type_]) + value

def string(name, text):
    v = text.encode()
    return header(name, 7, struct.pack(">H", len(v)) + v)

def message(headers, payload):
    total = 16 + len(headers) + len(payload)
    prelude = struct.pack(">II", total, len(headers))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))

def event(type_, payload, message_type="event", type_header=":event-type"):
    return message(string(":message-type", message_type) + string(type_header, type_)
                   + string(":content-type", "application/json"), payload.encode())

out = "fuzz/seeds-eventstream"
os.makedirs(out, exist_ok=True)
vectors = json.load(open("Tests/LexTests/Vectors/eventstream.json"))["vectors"]
seeds = {}
for v in vectors:
    seeds[v["name"]] = b"\x07\x00" + bytes.fromhex(v["hex"])
seeds["all-valid-fixed-crc"] = b"\x47\x05" + b"".join(bytes.fromhex(v["hex"]) for v in vectors if "error" not in v)
lex = [
    event("AudioResponseEvent", '{"audioChunk":"AAEC//4=","contentType":"audio/pcm","eventId":"RESPONSE-5"}'),
    event("IntentResultEvent", '{"inputMode":"Speech","sessionId":"s","interpretations":[{"nluConfidence":'
          '{"score":0.9},"intent":{"name":"I","slots":{"A":{"value":{"interpretedValue":"x"}},"B":null}}}],'
          '"sessionState":{"dialogAction":{"type":"ElicitSlot","slotToElicit":"B"},"sessionAttributes":{"k":"v"}}}'),
    event("ConfigurationEvent", '{"responseContentType":"audio/pcm","welcomeMessages":[{"content":"Hi",'
          '"contentType":"PlainText"}],"sessionState":{"dialogAction":{"type":"ElicitIntent"}}}'),
    event("ThrottlingException", '{"message":"slow down"}', "exception", ":exception-type"),
    message(header(":date", 8, struct.pack(">q", 1700000000000)) + header(":chunk-signature", 6,
            struct.pack(">H", 32) + bytes(32)), b""),
]
seeds["lex-events"] = b"\x47\x11" + b"".join(lex)
seeds["lex-events-tight-limit"] = b"\x03\x02" + b"".join(lex)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {out}")
