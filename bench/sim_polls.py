"""Benchmark: can the simulator serve 200 record-info polls per second without falling behind?

Starts ``kievideo-sim`` in a subprocess, creates ~200 Veo tasks (in batches of 20, advancing the
simulated clock between batches to stay under the documented 20-creates-per-10-s limit), then fires
polls open-loop on a fixed schedule for a fixed time with ``httpx.AsyncClient`` and reports latency
percentiles, schedule lag, and the CPU the simulator process used.

The load is offered by ``--client-procs`` processes (default 2), each with its own AsyncClient
and a share of the schedule: httpx costs several times more CPU per request than the simulator
answering it, so one client process on a busy 2-core machine measures the client, not the server.

Run: ``python -m bench.sim_polls [--rps 200] [--seconds 10] [--tasks 200]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

import httpx

from kievideo.sim import DEMO_KEY

HEADERS = {"Authorization": f"Bearer {DEMO_KEY}"}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def _proc_cpu(pid: int) -> float | None:
    """CPU seconds (user+system) used so far by ``pid`` (Linux /proc; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


async def _create_tasks(api: str, n_tasks: int) -> list[str]:
    async with httpx.AsyncClient(base_url=api, headers=HEADERS, timeout=30) as client:
        task_ids: list[str] = []
        while len(task_ids) < n_tasks:
            batch = min(20, n_tasks - len(task_ids))
            answers = await asyncio.gather(
                *[
                    client.post("/api/v1/veo/generate", json={"prompt": f"bench {len(task_ids) + i}"})
                    for i in range(batch)
                ]
            )
            for r in answers:
                body = r.json()
                if body.get("code") != 200:
                    raise RuntimeError(f"create failed: {body}")
                task_ids.append(body["data"]["taskId"])
            await client.post("/_sim/advance", json={"seconds": 11})  # leave the rate window
        return task_ids


async def _poll(
    api: str, paths: list[str], offsets: list[float], concurrency: int, conn: Connection
) -> dict[str, Any]:
    """Send ``paths[i]`` at ``t0 + offsets[i]`` (open loop) with ``concurrency`` connections.

    ``t0`` (wall clock) comes from the parent once every client process is warmed up and ready.
    """
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    lags: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=api, headers=HEADERS, limits=limits, timeout=30) as client:
        await asyncio.gather(*[client.get("/api/v1/chat/credit") for _ in range(concurrency)])  # warm up
        conn.send("ready")
        t0 = conn.recv()
        times = [t0 + off for off in offsets]
        queue: asyncio.Queue[tuple[str, float] | None] = asyncio.Queue()

        async def worker() -> None:
            nonlocal errors
            while (item := await queue.get()) is not None:
                path, scheduled = item
                start = time.time()
                lags.append(start - scheduled)
                try:
                    r = await client.get(path)
                    if r.status_code != 200 or b'"code":200' not in r.content:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.time() - start)

        workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
        cpu0 = time.process_time()
        for path, at in zip(paths, times, strict=True):
            delay = at - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((path, at))
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)
        end = time.time()
        cpu = time.process_time() - cpu0
    return {"latencies": latencies, "lags": lags, "errors": errors, "end": end, "cpu": cpu}


def _client_proc(
    conn: Connection, api: str, paths: list[str], offsets: list[float], concurrency: int
) -> None:
    conn.send(asyncio.run(_poll(api, paths, offsets, concurrency, conn)))
    conn.close()


def run_bench(
    api: str,
    server_pid: int | None,
    rps: int,
    seconds: float,
    n_tasks: int,
    concurrency: int,
    client_procs: int,
) -> dict[str, Any]:
    task_ids = asyncio.run(_create_tasks(api, n_tasks))
    total = int(rps * seconds)
    shares: list[tuple[list[str], list[float]]] = [([], []) for _ in range(client_procs)]
    for i in range(total):
        paths, times = shares[i % client_procs]
        paths.append(f"/api/v1/veo/record-info?taskId={task_ids[i % len(task_ids)]}")
        times.append(i / rps)
    ctx = mp.get_context("spawn")
    procs = []
    for paths, times in shares:
        parent, child = ctx.Pipe()
        p = ctx.Process(
            target=_client_proc, args=(child, api, paths, times, max(1, concurrency // client_procs))
        )
        p.start()
        procs.append((p, parent))
    for _p, parent in procs:
        parent.recv()  # "ready"
    t0 = time.time() + 0.2  # every client process runs the same wall-clock schedule
    for _p, parent in procs:
        parent.send(t0)
    s_cpu0 = _proc_cpu(server_pid) if server_pid else None
    results = []
    for p, parent in procs:
        results.append(parent.recv())
        p.join()
    s_cpu1 = _proc_cpu(server_pid) if server_pid else None
    latencies = [x for r in results for x in r["latencies"]]
    lags = [x for r in results for x in r["lags"]]
    errors = sum(r["errors"] for r in results)
    elapsed = max(r["end"] for r in results) - t0
    achieved = (total - errors) / elapsed
    p99 = _pct(latencies, 99) * 1000
    lag99 = _pct(lags, 99) * 1000
    server_cpu = None if s_cpu0 is None or s_cpu1 is None else s_cpu1 - s_cpu0
    return {
        "bench": "sim_polls",
        "cores": os.cpu_count(),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "target_rps": rps,
        "achieved_rps": round(achieved, 1),
        "requests": total,
        "errors": errors,
        "p50_ms": round(_pct(latencies, 50) * 1000, 2),
        "p90_ms": round(_pct(latencies, 90) * 1000, 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(max(latencies) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        "schedule_lag_p99_ms": round(lag99, 2),
        # Behind = the offered rate was not kept, answers were slow, or polls queued up for long.
        # (Schedule lag also contains the client's own CPU hiccups on a shared 2-core machine,
        # so it gets a looser bound than the answer latency.)
        "fell_behind": bool(achieved < 0.95 * rps or errors > 0 or p99 > 250.0 or lag99 > 1000.0),
        "tasks": len(task_ids),
        "concurrency": concurrency,
        "client_procs": client_procs,
        "server_cpu_ms_per_req": None if server_cpu is None else round(server_cpu / total * 1000, 3),
        "server_cpu_util": None if server_cpu is None else round(server_cpu / elapsed, 3),
        "client_cpu_ms_per_req": round(sum(r["cpu"] for r in results) / total * 1000, 3),
        "loadavg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.sim_polls")
    ap.add_argument("--rps", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--speed", type=float, default=60.0)
    ap.add_argument("--concurrency", type=int, default=16, help="client connections in total")
    ap.add_argument("--client-procs", type=int, default=2)
    ap.add_argument(
        "--http",
        choices=("auto", "h11", "httptools"),
        default="auto",
        help="server HTTP implementation (auto = httptools when installed)",
    )
    args = ap.parse_args(argv)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kievideo.sim",
            "--speed",
            str(args.speed),
            "--credits",
            "100000000",
            "--http",
            args.http,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        urls = json.loads(proc.stdout.readline())
        t = time.perf_counter()
        result = run_bench(
            urls["api"], proc.pid, args.rps, args.seconds, args.tasks, args.concurrency, args.client_procs
        )
        result["server_http"] = args.http
        result["wall_s"] = round(time.perf_counter() - t, 2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(json.dumps(result))
    print()
    print(f"{'metric':<24}{'value':>12}")
    for key in (
        "target_rps",
        "achieved_rps",
        "requests",
        "errors",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "max_ms",
        "schedule_lag_p99_ms",
        "server_cpu_ms_per_req",
        "server_cpu_util",
        "client_cpu_ms_per_req",
        "loadavg_1m",
        "fell_behind",
    ):
        print(f"{key:<24}{result[key]!s:>12}")
    return 0 if not result["fell_behind"] else 1


if __name__ == "__main__":
    sys.exit(main())
