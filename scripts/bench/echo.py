#!/usr/bin/env python3
"""WebSocket echo load generator: N connections, each sending one masked binary frame of
SIZE bytes every INTERVAL ms to an echo server, measuring the echo latency of every frame
and (given the server's PID) the server's CPU time from /proc/PID/stat.

Standard library only (asyncio over raw sockets; frames are built and masked here).
Connections are spread evenly over the interval so the load is smooth, like independent calls.
Prints one JSON object with the results.
"""
import argparse, array, asyncio, base64, gc, json, os, resource, socket, struct, sys, time

CLK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    """(user, system) CPU seconds of a process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK, int(fields[12]) / CLK


def self_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


class Conn(asyncio.Protocol):
    def __init__(self, bench, index):
        self.bench, self.index = bench, index
        self.buf = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET /bench HTTP/1.1\r\nHost: {self.bench.host}\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())

    def data_received(self, data):
        self.buf += data
        if not self.upgraded.done():
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buf.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_exception(RuntimeError(bytes(self.buf[:end]).decode(errors="replace")))
                return
            del self.buf[:end + 4]
            self.upgraded.set_result(True)
        buf, now = self.buf, time.perf_counter_ns()
        pos = 0
        while len(buf) - pos >= 2:
            b1 = buf[pos + 1] & 0x7F
            hl = 2 if b1 < 126 else 4 if b1 == 126 else 10
            if len(buf) - pos < hl:
                break
            n = b1 if b1 < 126 else struct.unpack_from(">H", buf, pos + 2)[0] if b1 == 126 else struct.unpack_from(">Q", buf, pos + 2)[0]
            if len(buf) - pos < hl + n:
                break
            if buf[pos] & 0x0F == 0x2 and n >= 8:
                sent = struct.unpack_from(">q", buf, pos + hl)[0]
                self.bench.record(now - sent)
            pos += hl + n
        del buf[:pos]

    def connection_lost(self, exc):
        self.bench.lost += 1
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError("closed before 101"))


class Bench:
    def __init__(self, args):
        self.args, self.host = args, args.host
        self.measuring = False
        self.latencies = array.array("q")
        self.received = self.sent = self.lost = 0
        self.late_ticks = 0
        size = args.size
        self.mask = b"\x5a\xc3\x3c\xa5"
        self.mask_int = int.from_bytes((self.mask * (size // 4 + 1))[:size], "big")
        self.header = bytes([0x82]) + (bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + struct.pack(">H", size)) + self.mask
        self.filler = bytes(range(256)) * (size // 256 + 1)

    def record(self, ns):
        if self.measuring:
            self.latencies.append(ns)
            self.received += 1

    def frame(self, index):
        size = self.args.size
        payload = struct.pack(">qI", time.perf_counter_ns(), index) + self.filler[:size - 12]
        masked = (int.from_bytes(payload, "big") ^ self.mask_int).to_bytes(size, "big")
        return self.header + masked

    async def run(self):
        a = self.args
        loop = asyncio.get_running_loop()
        conns = []
        for i in range(a.connections):
            _, c = await loop.create_connection(lambda i=i: Conn(self, i), a.host, a.port)
            c.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conns.append(c)
        await asyncio.gather(*(c.upgraded for c in conns))
        # No collector pauses while measuring (nothing here makes reference cycles).
        gc.collect()
        gc.freeze()
        gc.disable()

        # Connection i sends at offsets i/N of the interval; one scheduler wakes every `slot` ms.
        interval = a.interval / 1000
        slots = max(1, int(a.interval // 2))
        groups = [conns[s::slots] for s in range(slots)]
        start = time.perf_counter()
        warm_end = start + a.warmup
        end = warm_end + a.duration
        cpu0 = srv0 = None
        tick = 0
        while True:
            due = start + tick * interval / slots
            now = time.perf_counter()
            if due > now:
                await asyncio.sleep(due - now)
            elif now - due > interval / slots:
                self.late_ticks += self.measuring
            now = time.perf_counter()
            if not self.measuring and now >= warm_end:
                self.measuring = True
                cpu0, srv0, t0 = self_cpu(), (proc_cpu(a.server_pid) if a.server_pid else None), now
            if now >= end:
                break
            for c in groups[tick % slots]:
                c.transport.write(self.frame(c.index))
                self.sent += self.measuring
            tick += 1
        # Let the last echoes arrive, then stop counting.
        await asyncio.sleep(0.2)
        t1 = time.perf_counter()
        self.measuring = False
        cpu1, srv1 = self_cpu(), (proc_cpu(a.server_pid) if a.server_pid else None)
        for c in conns:
            c.transport.close()
        elapsed = t1 - t0
        lat = sorted(self.latencies)

        def pct(p):
            return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] / 1e6 if lat else None

        conn_seconds = a.connections * elapsed
        out = {
            "connections": a.connections, "interval_ms": a.interval, "frame_bytes": a.size,
            "seconds": round(elapsed, 2), "sent": self.sent, "echoed": self.received,
            "target_rate": round(a.connections * 1000 / a.interval),
            "achieved_send_rate": round(self.sent / elapsed), "late_scheduler_ticks": self.late_ticks,
            "lost_connections": self.lost,
            "latency_ms": {"p50": pct(50), "p90": pct(90), "p99": pct(99), "p999": pct(99.9), "max": lat[-1] / 1e6 if lat else None},
            "client_cpu": {"user_s": round(cpu1[0] - cpu0[0], 2), "sys_s": round(cpu1[1] - cpu0[1], 2),
                           "cores": round((cpu1[0] - cpu0[0] + cpu1[1] - cpu0[1]) / elapsed, 3)},
        }
        if srv0:
            u, s = srv1[0] - srv0[0], srv1[1] - srv0[1]
            out["server_cpu"] = {"user_s": round(u, 2), "sys_s": round(s, 2), "cores": round((u + s) / elapsed, 3),
                                 "user_us_per_conn_s": round(u / conn_seconds * 1e6, 1),
                                 "sys_us_per_conn_s": round(s / conn_seconds * 1e6, 1),
                                 "total_us_per_conn_s": round((u + s) / conn_seconds * 1e6, 1)}
        return out


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--connections", type=int, default=500)
    p.add_argument("--interval", type=float, default=20, help="ms between frames on one connection")
    p.add_argument("--size", type=int, default=640, help="payload bytes (>= 12)")
    p.add_argument("--duration", type=float, default=30, help="measured seconds")
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--server-pid", type=int)
    args = p.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    print(json.dumps(asyncio.run(Bench(args).run()), indent=1))


if __name__ == "__main__":
    main()
