"""Load test of the staff screens: 20 clerks at once on a seeded city (issue 13 §10).

``python bench/bench_web.py --taxpayers 200000 [--concurrency 20] [--duration 30] [--workers 1,2,4]``

1. **City.** A PostgreSQL database ``<name>_<taxpayers>`` (``--pg-url``, default
   ``$CHOSHU_BENCH_WEB_PG_URL`` or ``…/choshu_bench_web``) is migrated and seeded once with
   ``choshu seed --taxpayers N --seed 1`` (the seed time is reported) and kept for later runs
   (``--reseed`` rebuilds it).
2. **Clerks.** ``--concurrency`` users ``bench01…`` (role clerk) are created with a password and a
   confirmed TOTP device, and each signs in through the real forms — ``/login/`` (password), then
   ``/login/otp/`` with the code computed from the device's key (RFC 6238) — so every session has
   passed the second factor exactly as a clerk's does. The sessions are signed in once, on the first
   server, and kept for every server after it (they live in the database).
3. **Servers**, one after the other on the same database and sessions: the **baseline** — the old
   single-process server: waitress with 8 threads (what ``choshu demo`` runs), a new PostgreSQL
   connection per request (``CONN_MAX_AGE=0``) and the session row saved on every request
   (``SESSION_SAVE_EVERY_REQUEST``, without ``IdleSessionMiddleware``), i.e. the settings before
   issue 13, on today's code — then ``choshu serve --workers N`` for each N of ``--workers``.
4. **Load.** Each clerk is one connection loop, by default without think time (a closed loop: the
   next request leaves when the answer is in; ``--think S`` makes each clerk read the page for an
   exponentially distributed time of mean S seconds first), for ``--warmup`` seconds unmeasured
   and then ``--duration`` seconds. Per request, at random: 25 % 宛名検索 by カナ (the family name of a random person: up to 50
   results), 25 % 宛名検索 by 宛名番号, 50 % the person page (個人別収納状況照会) of a random person.
   The client is one asyncio process (plain HTTP/1.1, keep-alive where the server keeps it): it takes
   far less CPU than the server, but it shares the machine.
5. **Profile** of the person page and the search in-process (Django test client, no HTTP): per
   request the total time, the SQL time and the number of statements — what is left when the server
   is not the bottleneck.

Reported per server: requests/s, p50/p95/p99 (ms) overall and per kind, errors (any status but 200),
the load average before the run; and the target (issue 13: search and person page p95 < 150 ms at 20
concurrent sessions; throughput grows with workers). Results in ``bench/out/web.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHOSHU = str(BIN / "choshu")
TARGET_P95_MS = 150.0

BASELINE_SETTINGS = """
from choshu.config.settings import *  # noqa: F403
from choshu.config.settings import DATABASES, MIDDLEWARE

# The settings before issue 13: a new connection per request, the session saved on every request.
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
SESSION_SAVE_EVERY_REQUEST = True
MIDDLEWARE = [m for m in MIDDLEWARE if not m.endswith("IdleSessionMiddleware")]
"""

BASELINE_SERVER = """
import sys
from django.core.wsgi import get_wsgi_application
from waitress import serve
serve(get_wsgi_application(), host="127.0.0.1", port=int(sys.argv[1]), threads=8, ident="choshu")
"""

USERS = """
import base64, json, os, secrets, django
django.setup()
from django_otp.plugins.otp_totp.models import TOTPDevice
from choshu.accounts.models import Role, User
from choshu.core.models import Municipality
m = Municipality.objects.get(code="112038")
out = []
for i in range(1, int(os.environ["BENCH_USERS"]) + 1):
    name = f"bench{i:02d}"
    user = User.objects.filter(username=name).first() or User(
        username=name, role=Role.CLERK, display_name=f"負荷試験 {i}", team="負荷試験", municipality=m
    )
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.save()
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=True)
    out.append({"username": name, "password": password, "key": device.bin_key.hex()})
print(json.dumps(out))
"""

PROFILE = """
import json, os, random, statistics, time, django
django.setup()
from django.conf import settings
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_otp.plugins.otp_totp.models import TOTPDevice
from choshu.accounts.models import User
from choshu.taxpayers.models import Taxpayer
settings.ALLOWED_HOSTS = ["*"]
user = User.objects.get(username="bench01")
client = Client()
client.force_login(user)
session = client.session
session["otp_device_id"] = TOTPDevice.objects.get(user=user).persistent_id
session.save()
rng = random.Random(7)
people = list(Taxpayer.objects.order_by("?").values_list("pk", "taxpayer_no", "name_kana")[:60])
kinds = {
    "person": lambda p: f"/taxpayers/{p[0]}/",
    "search_kana": lambda p: "/search/?kana=" + (p[2].split()[0] if p[2] else "ア"),
    "search_no": lambda p: f"/search/?taxpayer_no={p[1]}",
}
out = {}
for kind, url in kinds.items():
    rows = []
    for i, p in enumerate(people):
        with CaptureQueriesContext(connection) as ctx:
            started, cpu = time.perf_counter(), time.process_time()
            response = client.get(url(p))
            total, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert response.status_code == 200, (url(p), response.status_code)
        if i >= 10:  # the first requests warm caches
            sql = sum(float(q["time"]) for q in ctx.captured_queries)
            rows.append((total * 1000, sql * 1000, len(ctx.captured_queries), cpu * 1000))
    out[kind] = {
        "requests": len(rows),
        "total_ms_p50": round(statistics.median(r[0] for r in rows), 1),
        "sql_ms_p50": round(statistics.median(r[1] for r in rows), 1),
        "python_ms_p50": round(statistics.median(r[0] - r[1] for r in rows), 1),
        "python_cpu_ms_p50": round(statistics.median(r[3] for r in rows), 1),
        "statements_p50": statistics.median(r[2] for r in rows),
        "statements_max": max(r[2] for r in rows),
        "total_ms_p95": round(sorted(r[0] for r in rows)[int(len(rows) * 0.95) - 1], 1),
    }
print(json.dumps(out))
"""


# ------------------------------------------------------------------------------------------------
# the city and the clerks
# ------------------------------------------------------------------------------------------------


def run_python(code: str, env: dict[str, str]) -> Any:
    """A Django snippet in its own process; its last line of output is JSON (stderr shown on failure)."""
    done = subprocess.run([sys.executable, "-c", code], env=env, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"bench_web: a step failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def pg_admin(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


def city(url: str, taxpayers: int, env: dict[str, str], reseed: bool) -> dict[str, Any]:
    """The seeded database (made once; ``--reseed`` rebuilds it); returns the seed's figures."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(pg_admin(url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and not reseed:
            try:
                with psycopg.connect(url) as db:
                    row = db.execute(
                        "SELECT parameters, counts FROM core_job WHERE kind = 'seed' AND status = 'succeeded'"
                        " ORDER BY id DESC LIMIT 1"
                    ).fetchone()
                if row and int(row[0]["taxpayers"]) == taxpayers:
                    return {
                        "reused": True,
                        **{k: row[1].get(k) for k in ("taxpayers", "installments", "seconds")},
                    }
            except psycopg.Error:
                pass
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([CHOSHU, "migrate", "-v0"], env=env, check=True)
    started = time.monotonic()
    out = subprocess.run(
        [CHOSHU, "seed", "--taxpayers", str(taxpayers), "--seed", "1", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    seconds = time.monotonic() - started
    summary = json.loads(out.strip().splitlines()[-1])
    subprocess.run(["psql", url, "-qc", "VACUUM ANALYZE"], check=False)
    return {
        "reused": False,
        "taxpayers": summary["taxpayers"],
        "installments": summary["installments"],
        "seconds": round(seconds, 1),
        "seconds_per_100k_taxpayers": round(seconds / taxpayers * 100_000, 1),
    }


def sample_people(url: str, n: int) -> list[tuple[int, str, str]]:
    import psycopg

    with psycopg.connect(url) as db:
        rows = db.execute(
            "SELECT id, taxpayer_no, name_kana FROM taxpayers_taxpayer ORDER BY random() LIMIT %s", [n]
        ).fetchall()
    return [(int(r[0]), str(r[1]), str(r[2] or "")) for r in rows]


def totp(key_hex: str, at: float | None = None) -> str:
    """RFC 6238 (SHA-1, 30 s, 6 digits): what the clerk's authenticator app shows."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


# ------------------------------------------------------------------------------------------------
# a small HTTP/1.1 client (asyncio streams): keep-alive, Content-Length or chunked bodies
# ------------------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def cookies(self) -> dict[str, str]:
        out = {}
        for k, v in self.headers:
            if k == "set-cookie":
                pair = v.split(";", 1)[0]
                name, _, value = pair.partition("=")
                out[name.strip()] = value.strip().strip('"')
        return out

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k == name), "")


@dataclass
class Connection:
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Response:
        for attempt in (1, 2):
            fresh = self.writer is None
            if fresh:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            try:
                return await self._exchange(method, path, form)
            except (ConnectionError, asyncio.IncompleteReadError, EOFError):
                await self.close()
                if fresh or attempt == 2:  # a kept-alive connection the server had closed: once more
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, method: str, path: str, form: dict[str, str] | None) -> Response:
        assert self.reader is not None and self.writer is not None
        body = urllib.parse.urlencode(form).encode() if form is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Connection: keep-alive"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if form is not None:
            lines += [
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
                f"Origin: http://127.0.0.1:{self.port}",
                f"Referer: http://127.0.0.1:{self.port}{path}",
            ]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise EOFError
        status = int(status_line.split()[1])
        headers = []
        while True:
            line = (await self.reader.readline()).decode("latin-1").rstrip("\r\n")
            if not line:
                break
            k, _, v = line.partition(":")
            headers.append((k.strip().lower(), v.strip()))
        h = dict(headers)
        if "content-length" in h:
            data = await self.reader.readexactly(int(h["content-length"]))
        elif h.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readline()
            data = b"".join(chunks)
        else:
            data = await self.reader.read()
            h["connection"] = "close"
        response = Response(status, headers, data)
        for name, value in response.cookies().items():
            if value:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        if h.get("connection", "").lower() == "close":
            await self.close()
        return response


CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


async def sign_in(port: int, user: dict[str, str]) -> dict[str, str]:
    """Password, then the TOTP code, through the real forms; returns the signed-in cookies."""
    conn = Connection(port)
    try:
        page = await conn.request("GET", "/login/")
        token = CSRF_FIELD.search(page.body)
        assert page.status == 200 and token, page.status
        step = await conn.request(
            "POST",
            "/login/",
            {
                "csrfmiddlewaretoken": token.group(1).decode(),
                "username": user["username"],
                "password": user["password"],
            },
        )
        assert step.status == 302 and "/login/otp/" in step.header("location"), (step.status, step.body[:300])
        page = await conn.request("GET", "/login/otp/")
        token = CSRF_FIELD.search(page.body)
        assert page.status == 200 and token
        done = await conn.request(
            "POST",
            "/login/otp/",
            {"csrfmiddlewaretoken": token.group(1).decode(), "token": totp(user["key"])},
        )
        assert done.status == 302 and "/login/" not in done.header("location"), (done.status, done.body[:300])
        check = await conn.request("GET", "/search/")
        assert check.status == 200, check.status
        return dict(conn.cookies)
    finally:
        await conn.close()


# ------------------------------------------------------------------------------------------------
# the load
# ------------------------------------------------------------------------------------------------


def request_mix(rng: random.Random, people: list[tuple[int, str, str]]) -> tuple[str, str]:
    pk, taxpayer_no, kana = rng.choice(people)
    roll = rng.random()
    if roll < 0.25:
        family = (kana.split() or ["ア"])[0]
        return "search_kana", "/search/?" + urllib.parse.urlencode({"kana": family})
    if roll < 0.5:
        return "search_no", "/search/?" + urllib.parse.urlencode({"taxpayer_no": taxpayer_no})
    return "person", f"/taxpayers/{pk}/"


async def clerk_loop(
    port: int,
    cookies: dict[str, str],
    people: list[tuple[int, str, str]],
    seed: int,
    measure_from: float,
    stop_at: float,
    samples: list[tuple[str, float, int]],
    think: float = 0.0,
) -> None:
    rng = random.Random(seed)
    conn = Connection(port, dict(cookies))
    try:
        while time.monotonic() < stop_at:
            kind, path = request_mix(rng, people)
            started = time.monotonic()
            try:
                response = await conn.request("GET", path)
                status = response.status
            except (OSError, EOFError, asyncio.IncompleteReadError, ValueError):
                status = 0
                await conn.close()
            if started >= measure_from and time.monotonic() <= stop_at:
                samples.append((kind, (time.monotonic() - started) * 1000, status))
            if think > 0:  # the clerk reads the page (exponential, mean ``think`` seconds)
                await asyncio.sleep(rng.expovariate(1 / think))
    finally:
        await conn.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def summarise(samples: list[tuple[str, float, int]], seconds: float) -> dict[str, Any]:
    def stats(rows: list[tuple[str, float, int]]) -> dict[str, Any]:
        ms = [r[1] for r in rows]
        return {
            "requests": len(rows),
            "errors": sum(1 for r in rows if r[2] != 200),
            "requests_per_second": round(len(rows) / seconds, 1),
            "p50_ms": round(percentile(ms, 0.50), 1),
            "p95_ms": round(percentile(ms, 0.95), 1),
            "p99_ms": round(percentile(ms, 0.99), 1),
            "mean_ms": round(statistics.fmean(ms), 1) if ms else 0.0,
        }

    out = {"all": stats(samples)}
    for kind in ("search_kana", "search_no", "person"):
        out[kind] = stats([s for s in samples if s[0] == kind])
    return out


async def load(
    port: int,
    sessions: list[dict[str, str]],
    people: list[tuple[int, str, str]],
    warmup: float,
    duration: float,
    think: float = 0.0,
    server_pgid: int | None = None,
) -> dict[str, Any]:
    samples: list[tuple[str, float, int]] = []
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + duration
    cpu: list[float] = []

    async def sample_cpu() -> None:
        for at in (measure_from, stop_at):
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            cpu.append(process_group_cpu(server_pgid) if server_pgid else 0.0)

    await asyncio.gather(
        sample_cpu(),
        *(
            clerk_loop(port, c, people, i, measure_from, stop_at, samples, think)
            for i, c in enumerate(sessions)
        ),
    )
    out = summarise(samples, duration)
    if server_pgid and samples:
        # CPU seconds of the server's processes (not PostgreSQL's) per answered request: a property of
        # the code, much less disturbed by other work on the machine than the latencies are.
        out["server_cpu_ms_per_request"] = round((cpu[1] - cpu[0]) * 1000 / len(samples), 1)
    return out


def process_group_cpu(pgid: int) -> float:
    """User + system CPU seconds of every live process in the group (the server and its workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, …, utime (11), stime (12)
            total += int(fields[11]) + int(fields[12])
    return total / tick


# ------------------------------------------------------------------------------------------------
# servers
# ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the server did not start")


def start_server(
    kind: str, workers: int, threads: int, env: dict[str, str], tmp: Path, log: Path
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    if kind == "baseline":
        (tmp / "bench_baseline_settings.py").write_text(BASELINE_SETTINGS)
        path = os.pathsep.join(p for p in (str(tmp), env.get("PYTHONPATH", "")) if p)  # keep a source tree
        env = {**env, "PYTHONPATH": path, "DJANGO_SETTINGS_MODULE": "bench_baseline_settings"}
        cmd = [sys.executable, "-c", BASELINE_SERVER, str(port)]
    else:
        cmd = [
            CHOSHU,
            "serve",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
        ]
    out = log.open("ab")
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    wait_ready(port, proc)
    return proc, port


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()  # gunicorn: graceful stop of the arbiter and its workers
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--taxpayers", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds per server")
    parser.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds before that")
    parser.add_argument("--workers", default="1,2,4", help="worker counts of `choshu serve`, comma-separated")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (default: serve's)")
    parser.add_argument(
        "--think", type=float, default=0.0, help="mean seconds a clerk reads a page (0: none, a stress test)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the old single-process server")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "CHOSHU_BENCH_WEB_PG_URL", "postgres://postgres@127.0.0.1:5432/choshu_bench_web"
        ),
    )
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "web.json"))
    args = parser.parse_args()

    url = f"{args.pg_url}_{args.taxpayers}"
    tmp = Path(tempfile.mkdtemp(prefix="choshu-bench-web-"))
    var = tmp / "var"
    var.mkdir()
    env = {
        **os.environ,
        "CHOSHU_DATABASE_URL": url,
        "CHOSHU_VAR_DIR": str(var),
        "CHOSHU_SECRET_KEY": "bench-web-" + base64.b32encode(os.urandom(20)).decode(),
        "CHOSHU_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "choshu.config.settings",
    }
    env.pop("CHOSHU_PRODUCTION", None)
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "note": "shared with other work: see load_average per run",
        },
        "taxpayers": args.taxpayers,
        "concurrency": args.concurrency,
        "duration_seconds": args.duration,
        "think_seconds": args.think,
        "mix": "25% search by kana (family name), 25% search by taxpayer_no, 50% person page",
    }
    results["city"] = city(url, args.taxpayers, env, args.reseed)
    print(json.dumps({"city": results["city"]}, ensure_ascii=False), flush=True)
    users = run_python(USERS, {**env, "BENCH_USERS": str(args.concurrency)})
    people = sample_people(url, 5000)
    log = tmp / "server.log"
    runs: list[tuple[str, int]] = [("serve", int(w)) for w in args.workers.split(",") if w]
    if not args.no_baseline:
        runs.insert(0, ("baseline", 1))
    sessions: list[dict[str, str]] = []
    results["runs"] = []
    threads = args.threads or 1
    for kind, workers in runs:
        proc, port = start_server(kind, workers, threads, env, tmp, log)
        try:
            if not sessions:
                sessions = asyncio.run(_sign_in_all(port, users))
            load_average = os.getloadavg()
            figures = asyncio.run(
                load(port, sessions, people, args.warmup, args.duration, args.think, proc.pid)
            )
        finally:
            stop_server(proc)
        label = (
            "baseline: waitress, 1 process, 8 threads"
            if kind == "baseline"
            else f"choshu serve --workers {workers} --threads {threads}"
        )
        run = {
            "server": label,
            "workers": workers,
            "load_average_before": [round(x, 2) for x in load_average],
            **figures,
        }
        results["runs"].append(run)
        print(json.dumps(run, ensure_ascii=False), flush=True)
    if not args.no_profile:
        results["profile"] = run_python(PROFILE, env)
        print(json.dumps({"profile": results["profile"]}, ensure_ascii=False), flush=True)
    results["targets"] = targets(results["runs"])
    print(json.dumps({"targets": results["targets"]}, ensure_ascii=False), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)


async def _sign_in_all(port: int, users: list[dict[str, str]]) -> list[dict[str, str]]:
    return [await sign_in(port, u) for u in users]  # one after another: argon2 is meant to be slow


def targets(runs: list[dict[str, Any]]) -> dict[str, Any]:
    served = [r for r in runs if r["server"].startswith("choshu serve")]
    if not served:
        return {}
    best = min(
        served, key=lambda r: max(r["person"]["p95_ms"], r["search_kana"]["p95_ms"], r["search_no"]["p95_ms"])
    )
    p95 = max(best["person"]["p95_ms"], best["search_kana"]["p95_ms"], best["search_no"]["p95_ms"])
    rates = [r["all"]["requests_per_second"] for r in sorted(served, key=lambda r: r["workers"])]
    return {
        "p95_under_150ms": {
            "met": p95 < TARGET_P95_MS,
            "best_workers": best["workers"],
            "worst_kind_p95_ms": p95,
        },
        "throughput_grows_with_workers": {
            "met": all(b > a for a, b in zip(rates, rates[1:], strict=False)),
            "requests_per_second": rates,
        },
        "errors": sum(r["all"]["errors"] for r in runs),
    }


if __name__ == "__main__":
    main()
