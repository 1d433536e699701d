#!/usr/bin/env python3
"""Turns scripts/bench/capacity.sh's JSON results into markdown.

    bench-capacity-report.py OUT_DIR "STEPS" REPLY_MS          # prints the generated block
    bench-capacity-report.py --write BENCHMARKS.md BLOCK.md    # puts it between the markers
"""
import datetime, json, os, platform, subprocess, sys

BEGIN, END = "<!-- lexcall-bench:begin -->", "<!-- lexcall-bench:end -->"

if sys.argv[1] == "--write":
    path, block = sys.argv[2], open(sys.argv[3]).read().strip()
    text = open(path).read()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + BEGIN + "\n" + block + "\n" + END + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + BEGIN + "\n" + block + "\n" + END + "\n"
    open(path, "w").write(text)
    sys.exit(0)

out, steps, reply_ms = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])


def load(name):
    p = os.path.join(out, name + ".json")
    if not os.path.exists(p):
        return None
    r = json.load(open(p))
    la = os.path.join(out, name + ".load")
    r["load_before"] = open(la).read().strip() if os.path.exists(la) else "?"
    sc = os.path.join(out, name + ".syscalls")
    if os.path.exists(sc):
        counts = {}
        for line in open(sc):
            parts = line.strip().split(",")
            if len(parts) > 2 and parts[0].replace(".", "").isdigit():
                counts[parts[2].split(":")[-1]] = float(parts[0])
        r["syscalls"] = counts
    return r


def f(x, d=1):
    return "-" if x is None else f"{x:.{d}f}"


def passes(r, floor):
    if r is None:
        return False
    ok = r["failed"] == 0 and r["lost_connections"] == 0 and r["closed_by_server"] == 0 and r["gap"]["p99_ms"] <= 30
    if not floor:
        ok = ok and r.get("inbound_lost", 1) == 0 and r.get("outbound_lost", 1) == 0 and r["missing_frames"] == 0 and r["no_reply"] == 0
    return ok


cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print(f"- Date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}, commit {commit}")
print(f"- Machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; server, lexcall and the Lex stand-in (inside lexcall) share it")
print("- Command: `scripts/bench/capacity.sh` (`make bench` runs it); raw results in `reports/bench-capacity/`")
print()

rows, cap = [], {"floor": 0, "connector": 0}
for n in steps:
    for kind in ("floor", "connector"):
        r = load(f"{kind}-{n}")
        if r is None:
            continue
        ok = passes(r, kind == "floor")
        if ok:
            cap[kind] = max(cap[kind], int(n))
        g = r["gap"]
        loss = "-" if kind == "floor" else f"{int(r.get('inbound_lost', -1))} / {int(r.get('outbound_lost', -1))} / {r['missing_frames']}"
        rows.append(f"| {n} | {kind} | {r['load_before']} | {f(g['p50_ms'])} / {f(g['p99_ms'])} / {f(g['max_ms'])} | {r['late_frames']} | {loss} | "
                    f"{r['lost_connections'] + r['failed']} | {f(r.get('server_cores'), 2)} | {f(r.get('lexcall_cores'), 2)} | "
                    f"{f(r['send_lateness']['p99_ms'])} | {'yes' if ok else 'no'} |")
if rows:
    print(f"### Capacity: concurrent 16 kHz calls, each speaking (\"yes\", 0.9 s) and hearing a {reply_ms / 1000:g} s reply in turn\n")
    print("| calls | server | load before | outbound gap p50 / p99 / max ms | late frames | frames lost in / out / missing from replies | calls lost | server cores | lexcall cores | lexcall send lateness p99 ms | passes |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    ratio = f"{cap['connector'] / cap['floor'] * 100:.0f}%" if cap["floor"] else "-"
    print(f"\nCapacity (largest step with no lost frame or call and gap p99 at most 30 ms): **floor {cap['floor'] or 'below ' + steps[0]}, "
          f"connector {cap['connector'] or 'below ' + steps[0]}** ({ratio} of the floor; steps: {' '.join(steps)}).\n")

cpu_rows = []
for kind in ("floor", "connector"):
    for mode in ("listen", "play"):
        r = load(f"cpu-{kind}-{mode}")
        if r is None or "server_user_us_per_call_s" not in r:
            continue
        sc = r.get("syscalls", {})
        calls = r["open_at_window_start"]
        inbound = calls * 50 * 10
        outbound = inbound * r.get("playing_fraction", 0)
        total = sc.get("sys_enter", 0)
        per_in = total / inbound if inbound else None
        per_frame = total / (inbound + outbound) if inbound else None
        detail = ", ".join(f"{k.replace('sys_enter_', '')} {v / inbound:.2f}" for k, v in sorted(sc.items()) if k != "sys_enter" and v > 0)
        cpu_rows.append(f"| {kind} | {mode} | {calls} | {r['load_before']} | {f(r['server_user_us_per_call_s'])} | {f(r['server_sys_us_per_call_s'])} | "
                        f"{f(r.get('playing_fraction', 0) * 100, 0)}% | {f(per_in, 2)} | {f(per_frame, 2)} | {detail} |")
if cpu_rows:
    print("### Server CPU per call-second and system calls per frame\n")
    print("| server | calls | n | load before | user µs per call-s | system µs per call-s | time hearing a reply | syscalls per inbound frame | per frame in or out | per inbound frame, by call |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(cpu_rows))
    print()

r = load("idle-connector")
if r:
    print(f"### Memory per idle call\n")
    print(f"{r['open_at_window_start']} silent calls (load before {r['load_before']}): server RSS {r.get('server_rss_kib_before')} KiB before, "
          f"{r.get('server_rss_kib_window_start')} KiB with the calls open: **{f(r.get('server_rss_kib_per_call'))} KiB per call**; "
          f"CPU per listening call-second user {f(r.get('server_user_us_per_call_s'))} µs, system {f(r.get('server_sys_us_per_call_s'))} µs.\n")

lat = [(n, load(f"connector-{n}")) for n in steps]
lat = [(n, r) for n, r in lat if r and "speech_to_request_ms" in r]
if lat:
    print("### Latency at load (connector runs above; Lex stand-in inside lexcall)\n")
    print("Seen by the caller (lexcall's clock: includes lexcall's own send and receive delays and the stand-in's threads, "
          "all on the same 2 cores) and by the server (its `/metrics` histograms over the window: the upper bound of the bucket "
          "holding the percentile; buckets 0.25, 0.5, 1, 2, 3, 4, 5, 7.5, 10, 15, 20 ms ...).\n")
    print("| calls | Lex requests | caller: end of speech to Lex request, minus silence_time: p50 / p99 / max ms | server: end of utterance to request sent: p50 / p99 ms (share within 5 ms) | caller: stand-in answer to first reply frame: p50 / p99 / max ms | server: reply's first bytes to first frame out: p50 / p99 ms (share within 5 ms) |")
    print("|---|---|---|---|---|---|")

    def server_hist(r, key):
        h = r.get(key)
        if not h:
            return "-"
        le = lambda v: "> 1000" if v < 0 else f"<= {v:g}"
        return f"{le(h['p50_le_ms'])} / {le(h['p99_le_ms'])} ({h['share_within_5ms']:.2f}%)"
    for n, r in lat:
        a, b = r["speech_to_request_ms"], r["answer_to_frame_ms"]
        print(f"| {n} | {r['lex_requests']} | {f(a['p50'])} / {f(a['p99'])} / {f(a['max'])} | {server_hist(r, 'server_speech_to_request')} | "
              f"{f(b['p50'])} / {f(b['p99'])} / {f(b['max'])} | {server_hist(r, 'server_reply_to_first_frame')} |")
    print()

# A dedicated 8-core host: the server alone (callers and Lex across the network).
best = load(f"connector-{cap['connector']}") if cap["connector"] else None
if best and best.get("server_user_us_per_call_s") is not None:
    per_call = best["server_user_us_per_call_s"] + best["server_sys_us_per_call_s"]
    per_core = 1e6 / per_call
    calls8 = 8 * 0.75 * per_core
    lex_rate = best["lex_requests"] / (best["open_at_window_start"] * best["window_s"]) if best.get("lex_requests") else 0
    print("### Projection: one instance on a dedicated 8-core host\n")
    print(f"- Server CPU per call-second in the {cap['connector']}-call run (speaking and hearing replies, {best['playing_fraction'] * 100:.0f}% of the time hearing one): "
          f"{best['server_user_us_per_call_s']:.0f} µs user + {best['server_sys_us_per_call_s']:.0f} µs system = **{per_call:.0f} µs**, so one core carries "
          f"1,000,000 / {per_call:.0f} = **{per_core:,.0f} calls** at full use.")
    print(f"- 8 event loops (one per core), each core kept at most 75% busy (room for bursts, TLS to Lex and the kernel's receive work, "
          f"which a real NIC does outside the process): 8 x 0.75 x {per_core:,.0f} = **about {calls8:,.0f} calls**.")
    if lex_rate:
        print(f"- The one Lex client thread: this run made {lex_rate:.2f} Lex requests per call-second (an utterance every {1 / lex_rate:.1f} s), "
              f"so {calls8:,.0f} calls need {calls8 * lex_rate:,.0f} requests/s; `lex-bench` measured 1,800-3,600 requests/s on one thread over plain HTTP "
              "(see \"Lex client\"). Real callers speak less often than this benchmark's caller, but with TLS the thread's ceiling is lower: "
              "past a few thousand calls per instance, watch `lexconnector_lex_latency_seconds` and run more instances (`reuse_port`).")
    print()

r = load("soak")
if r:
    rss = [l.split() for l in open(os.path.join(out, "soak-rss.txt")) if len(l.split()) == 2]
    t0 = int(rss[0][0]) if rss else 0
    pts = [(int(t) - t0, int(v)) for t, v in rss]
    warm = [v for t, v in pts if t >= 60]
    print(f"### Soak: {r['calls']} calls for {r['window_s'] + 5:.0f} s after a 10 s ramp (load before {r['load_before']})\n")
    print(f"- calls lost {r['lost_connections'] + r['failed'] + r['closed_by_server']}, frames lost in / out {int(r.get('inbound_lost', -1))} / {int(r.get('outbound_lost', -1))}, "
          f"missing from replies {r['missing_frames']}, replies {r['replies']}, unanswered {r['no_reply']}, wrong size {r['wrong_size']}")
    print(f"- outbound gap p50 {f(r['gap']['p50_ms'])} ms, p99 {f(r['gap']['p99_ms'])} ms, max {f(r['gap']['max_ms'])} ms; late frames {r['late_frames']}")
    if warm:
        print(f"- server RSS after warm-up (60 s on): first {warm[0]} KiB, min {min(warm)} KiB, max {max(warm)} KiB, last {warm[-1]} KiB "
              f"({len(warm)} samples, every 10 s)")
    print()
