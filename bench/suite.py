"""Every benchmark in turn, then one table: ``make bench``.

    .venv/bin/python bench/suite.py [--only ingest,claims] [--skip rss] [--quick]

Runs bench/ingest.py, verdicts.py, claims.py, outbox.py, artifacts.py, console.py, rss.py and
exports.py one after the other, each as its own process on its own PostgreSQL database (their
defaults, or BENCH_DATABASE_URL for all of them) with a redis-server of its own, showing their
output as it comes. Each script's last line is ``RESULT {json}``; from those this prints one
table of figures against the targets, and writes it as Markdown, with the machine it ran on,
to bench/results/latest.md (for the README).

--quick runs every script with small sizes: a smoke test of the suite, not figures to quote.
Exit status 1 if a script failed (a lost report, a job handed out twice, an error), not for a
missed target: a missed target is a figure to report.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, ROOT, machine_busy

BENCH = ROOT / "bench"

# Each script with the options of a full run and of a --quick one.
SCRIPTS: dict[str, tuple[list[str], list[str]]] = {
    "ingest": (["--fresh"], ["--fresh", "--requests", "600", "--warmup", "100",
                             "--throttle-requests", "300"]),
    "verdicts": (["--fresh"], ["--fresh", "--requests", "500", "--paced-requests", "300",
                               "--warmup", "100"]),
    "claims": ([], ["--jobs", "2000", "--duration", "5"]),
    "outbox": ([], ["--reports", "400", "--paced-reports", "100"]),
    "artifacts": ([], ["--checks", "20"]),
    "console": ([], ["--requests", "5"]),
    "rss": (["--fresh"], ["--fresh", "--requests", "3000", "--warmup", "500"]),
    "exports": ([], ["--events", "20000"]),
}  # fmt: skip


@dataclass
class Row:
    measure: str
    figure: str
    target: str
    met: bool | None  # None: a figure without a target


def _ms(value: object) -> str:
    return f"{value:.0f} ms" if isinstance(value, int | float) else "?"


def ingest_rows(r: dict) -> list[Row]:
    cpu, bare_cpu = r["ingest_cpu_ms"], r["bare_cpu_ms"]
    rows = [
        Row(
            "Ingest `POST /api/v1/worker-repair-events`, 16 workers",
            f"{r['ingest_per_s']} events/s (p50 {_ms(r['ingest_p50_ms'])}, "
            f"p99 {_ms(r['ingest_p99_ms'])})",
            "≥ 500 events/s",
            r["ingest_per_s"] >= 500,
        ),
        Row(
            "Ingest / bare-insert view",
            f"{r['ratio']:.2f} (bare view {r['bare_per_s']} events/s)",
            "≥ 0.6",
            r["ratio"] >= 0.6,
        ),
        Row(
            "CPU per event: gunicorn / PostgreSQL",
            f"ingest {cpu['server']:.2f} / {cpu['postgres']:.2f} ms; "
            f"bare {bare_cpu['server']:.2f} / {bare_cpu['postgres']:.2f} ms",
            "",
            None,
        ),
        Row(
            "Ingest against the bare view: CPU per report (gunicorn + its PostgreSQL backends); "
            "throughput",
            f"{r['cpu_ratio']:.2f}x ({r['cpu_per_report_ms']['ingest']:.2f} ms against "
            f"{r['cpu_per_report_ms']['bare']:.2f} ms); {r['ratio']:.2f}",
            "CPU ≤ 2x; throughput ≥ 0.5",
            r["cpu_ratio"] <= 2 and r["ratio"] >= 0.5,
        ),
    ]
    per_report = r.get("per_report")
    if per_report:
        statements, storm = per_report["statements"], per_report["storm"]
        first, later = (sum(storm[part].values()) for part in ("first", "later"))
        rows += [
            Row(
                "Statements per report on PostgreSQL (`BEGIN` and `COMMIT` included)",
                f"{statements['common']:.2f} for a common report (allowed, counted on an open "
                f"proposal); {statements['mix']:.2f} for this bench's mix; bare view "
                f"{statements['bare']:.2f}",
                "≤ 4 for a common report",
                statements["common"] <= 4,
            ),
            Row(
                "One fingerprint's storm, CPU per report (one process + its backend)",
                f"reports 2-201 {first:.2f} ms; reports "
                f"{storm['history'] + 1:,}-{storm['history'] + 200:,} {later:.2f} ms",
                "flat (within 15 %)",
                later <= first * 1.15,
            ),
        ]
    if r.get("throttle_alone_us"):
        cpu_us, wall_us = r["throttle_alone_us"]
        rows.append(
            Row(
                "Per-worker rate limit (on by default), per request",
                f"{cpu_us} µs CPU, {wall_us} µs wall (one Redis round trip); ingest with it "
                f"on: {r['throttle_per_s']} events/s",
                "",
                None,
            )
        )
    return rows


def claims_rows(r: dict) -> list[Row]:
    return [
        Row(
            f"Claims, {r['workers']} workers on `claim-next`",
            f"{r['claims_per_s']} claims/s (p50 {_ms(r['p50_ms'])}, p99 {_ms(r['p99_ms'])}); "
            f"{r['duplicates']} handed out twice",
            "≥ 300 claims/s",
            r["target_met"],
        )
    ]


def outbox_rows(r: dict) -> list[Row]:
    return [
        Row(
            "Outbox, burst of reports, one Celery worker",
            f"{r['burst_per_second']} reports/s; {r['missing']} lost, {r['repeats']} sent twice",
            "≥ 300 reports/s",
            r["target_met"],
        ),
        Row(
            "Outbox enqueue → delivery p50 / p99",
            f"paced 100/s: {_ms(r['paced_p50_ms'])} / {_ms(r['paced_p99_ms'])}; "
            f"in the burst: {r['burst_p50_ms'] / 1000:.1f} / {r['burst_p99_ms'] / 1000:.1f} s",
            "",
            None,
        ),
    ]


def artifacts_rows(r: dict) -> list[Row]:
    return [
        Row(
            f"Artifact checks: {r['checks']} × {r['urls_per_check']} URLs answering in "  # noqa: RUF001
            f"{r['delay_seconds']:g} s, one worker",
            f"{r['wall_seconds']:.2f} s, {r['passed']}/{r['checks']} passed",
            "< 10 s",
            r["target_met"],
        )
    ]


def console_rows(r: dict) -> list[Row]:
    return [
        Row(
            f"Console home at {r['events']:,} events",
            f"p50 {_ms(r['home_p50_ms'])}, p90 {_ms(r['home_p90_ms'])}, {r['queries']} queries",
            "< 300 ms",
            r["target_met"],
        )
    ]


def rss_rows(r: dict) -> list[Row]:
    return [
        Row(
            f"Web worker peak RSS after {r['requests']:,} mixed requests",
            f"{r['peak_mib']:.0f} MiB (after warm-up {r['baseline_mib']:.0f} MiB, "
            f"{r['second_half_growth_mib']:+.1f} MiB over the second half)",
            "< 200 MiB",
            r["target_met"],
        )
    ]


def exports_rows(r: dict) -> list[Row]:
    rows = [
        Row(
            f"Export of {r['events']:,} events (`?format=ndjson` / `csv`), in process",
            f"NDJSON {r['ndjson_rows_per_s']:,} rows/s ({r['ndjson_mib_per_s']} MiB/s); "
            f"CSV {r['csv_rows_per_s']:,} rows/s ({r['csv_mib_per_s']} MiB/s)",
            "",
            None,
        )
    ]
    if "peak_mib" in r:
        rows.append(
            Row(
                f"Export memory: tracemalloc peak streaming {r['ndjson_mib']} MiB of NDJSON",
                f"{r['peak_mib']} MiB",
                "< 32 MiB",
                r["target_met"],
            )
        )
    return rows


def verdicts_rows(r: dict) -> list[Row]:
    cpu, bare_cpu = r["verdicts_cpu_ms"], r["bare_cpu_ms"]
    return [
        Row(
            f"Tool verdicts `POST /api/v1/tool-verdicts`, {r['clients']} workers, keyed",
            f"{r['verdicts_per_s']} verdicts/s (p50 {_ms(r['verdicts_p50_ms'])}, "
            f"p99 {_ms(r['verdicts_p99_ms'])}); bare view {r['bare_per_s']} events/s",
            "",
            None,
        ),
        Row("Tool verdicts / bare-insert view", f"{r['ratio']:.2f}", "≥ 0.6", r["ratio"] >= 0.6),
        Row(
            f"Tool verdicts paced at {r['paced_rate']:.0f}/s: p50 / p99",
            f"{_ms(r['paced_p50_ms'])} / {_ms(r['paced_p99_ms'])} (bare view "
            f"{_ms(r['bare_paced_p50_ms'])} / {_ms(r['bare_paced_p99_ms'])})",
            "p99 ≤ 50 ms",
            r["paced_p99_ms"] <= 50,
        ),
        Row(
            "CPU per tool verdict: gunicorn / PostgreSQL",
            f"verdicts {cpu['server']:.2f} / {cpu['postgres']:.2f} ms; "
            f"bare {bare_cpu['server']:.2f} / {bare_cpu['postgres']:.2f} ms",
            "",
            None,
        ),
    ]


ROWS: dict[str, Callable[[dict], list[Row]]] = {
    "ingest": ingest_rows,
    "verdicts": verdicts_rows,
    "claims": claims_rows,
    "outbox": outbox_rows,
    "artifacts": artifacts_rows,
    "console": console_rows,
    "rss": rss_rows,
    "exports": exports_rows,
}


def run(name: str, options: list[str]) -> tuple[dict | None, int, float, float]:
    """Runs one script, echoing its output; returns its RESULT, exit status, seconds and the
    share of the machine's CPU that was busy meanwhile."""
    print(f"\n=== bench/{name}.py {' '.join(options)}", flush=True)
    started, busy_before = time.monotonic(), machine_busy()
    result = None
    with subprocess.Popen(
        [sys.executable, str(BENCH / f"{name}.py"), *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT ") :])
            else:
                print(line, end="", flush=True)
    seconds = time.monotonic() - started
    busy = (machine_busy() - busy_before) / (seconds * (os.cpu_count() or 1))
    return result, process.returncode, seconds, busy


def machine() -> str:
    import psycopg

    from bench.common import BENCH_DATABASE

    cores = os.cpu_count()
    memory = next(
        int(line.split()[1]) / 1024 / 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    url = os.environ.get("BENCH_DATABASE_URL", BENCH_DATABASE.format(name="postgres"))
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            postgres = f"PostgreSQL {row[0].split()[0]}" if row else "PostgreSQL ?"
    except psycopg.Error:
        postgres = "PostgreSQL ?"
    try:
        redis = subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True, check=True
        ).stdout.split()[2]
        redis = "Redis " + redis.removeprefix("v=")
    except (OSError, subprocess.CalledProcessError, IndexError):
        redis = "Redis ?"
    return (
        f"{cores} cores, {memory:.0f} GiB, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, {postgres}, {redis}"
    )


def table(rows: list[Row]) -> list[str]:
    lines = ["| measure | figure | target | |", "|---|---|---|---|"]
    for row in rows:
        verdict = "" if row.met is None else ("met" if row.met else "**missed**")
        lines.append(f"| {row.measure} | {row.figure} | {row.target} | {verdict} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated scripts to run (default: all)")
    parser.add_argument("--skip", default="", help="comma-separated scripts to leave out")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(SCRIPTS)
    names = [name for name in names if name not in args.skip.split(",")]
    unknown = set(names) - set(SCRIPTS)
    if unknown:
        parser.error(f"unknown script(s): {', '.join(sorted(unknown))}")

    started = time.monotonic()
    rows: list[Row] = []
    notes: list[str] = []
    failed: list[str] = []
    for name in names:
        full, quick = SCRIPTS[name]
        result, status, seconds, busy = run(name, quick if args.quick else full)
        if result is None:
            failed.append(name)
            notes.append(f"bench/{name}.py printed no RESULT (exit {status})")
            continue
        if status != 0:
            failed.append(name)
        rows += ROWS[name](result)
        disturbed = (
            " (other processes took over 10 % of the CPU)" if result.get("disturbed") else ""
        )
        notes.append(
            f"bench/{name}.py: {seconds:.0f} s, machine {busy:.0%} busy{disturbed}"
            + (f", exit {status}" if status else "")
        )
    total = time.monotonic() - started

    header = [
        f"Benchmarks of {time.strftime('%Y-%m-%d %H:%M %Z')} ({'quick' if args.quick else 'full'}"
        f" run, {total / 60:.1f} min): {machine()}; gunicorn, PostgreSQL, Redis, the Celery "
        "worker and the load generators share these cores.",
    ]
    lines = [*header, "", *table(rows), "", *(f"- {note}" for note in notes)]
    print("\n" + "\n".join(lines))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text("\n".join(lines) + "\n")
    print(f"\nwritten to {(RESULTS / 'latest.md').relative_to(ROOT)}")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
