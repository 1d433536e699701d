#!/usr/bin/env python3
"""Markdown tables from scripts/bench/streaming.sh's results: streaming-report.py OUT "100 500"."""
import json
import os
import re
import sys

out, steps = sys.argv[1], sys.argv[2].split()


def load(name):
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        j = json.load(f)
    threads = os.path.join(out, name + ".threads")
    if os.path.exists(threads):
        m = re.search(r"([\d.]+) cores; Lex HTTP/2 client thread \(lex-http2\): ([\d.]+) cores, ([\d.]+)%", open(threads).read())
        if m:
            j["_cores10s"], j["_lex_cores"], j["_lex_share"] = float(m[1]), float(m[2]), float(m[3])
    return j


def num(v, fmt="%.1f"):
    return "-" if v is None else fmt % v


def p99(j, key):
    h = j.get(key) or {}
    v = h.get("p99_le_ms")
    if v is None:
        return "-"
    return "inf" if v < 0 else "<= %g ms (%d)" % (v, h.get("n", 0))


rows = []
print("| run | calls | server CPU µs per call-second | RSS KiB per call | lex-http2 thread | "
      "Lex first chunk -> first frame p99 (server) | turn-based reply -> first frame p99 (server) | "
      "turns: streaming / turn-based | lost in / out | short replies, unanswered | failed, closed by server |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for n in steps:
    for name in ["mixed-%s" % n, "stream-%s" % n, "turn-%s" % n, "listen-stream-%s" % n, "listen-turn-%s" % n]:
        j = load(name)
        if j is None:
            continue
        cpu = None
        if "server_user_us_per_call_s" in j:
            cpu = j["server_user_us_per_call_s"] + j["server_sys_us_per_call_s"]
        lex = "-" if "_lex_cores" not in j else "%.3f cores (%.1f%%)" % (j["_lex_cores"], j["_lex_share"])
        print("| %s | %d | %s | %s | %s | %s | %s | %s / %s | %s / %s | %s, %s | %s, %s |" % (
            name, j.get("calls", 0), num(cpu), num(j.get("server_rss_kib_per_call")), lex,
            p99(j, "server_prompt_to_first_frame"), p99(j, "server_reply_to_first_frame"),
            j.get("lex_streaming_turns", 0), j.get("lex_requests", 0),
            num(j.get("inbound_lost"), "%d"), num(j.get("outbound_lost"), "%d"),
            j.get("short_replies", 0), j.get("no_reply", 0), j.get("failed", 0), j.get("closed_by_server", 0)))
