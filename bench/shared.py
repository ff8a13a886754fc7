"""Many instances, one library: query and ingest throughput over PostgreSQL + a Chroma server.

    python -m bench.shared [--instances 1,2,4] [--queries 200]

Starts a real PostgreSQL 15 (as the tests do) and a `chroma run` server on loopback, indexes
the three R manuals once, then runs 1, 2 and 4 Docent instances (separate processes, each its
own data dir and BM25 index) that ask the development questions at once, and reports
per-query latency (p50/p95) and the queries per second of them all. Last, two instances
ingest into two different collections at the same time, against the same work done one after
the other. Prints Markdown tables for bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.sets import rman
from rag.evaluate import percentile
from tests.postgres import new_database, postgres_server
from tests.servers import free_port, serve

REPO = Path(__file__).resolve().parent.parent


def _env(url: str, port: int, data_dir: Path, collection: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCENT_")}
    return env | {
        "DOCENT_DATABASE_URL": url,
        "DOCENT_CHROMA_HOST": "127.0.0.1",
        "DOCENT_CHROMA_PORT": str(port),
        "DOCENT_DATA_DIR": str(data_dir),
        "DOCENT_COLLECTION": collection,
    }


def worker(questions: list[str]) -> None:
    """One instance: open Docent (settings from the environment), search every question,
    print the latencies (ms) as JSON."""
    from rag.system import Docent

    docent = Docent()
    answerer, collection = docent.answerer(), docent.collection()
    answerer.search("warm up", collection)
    latencies = []
    for q in questions:
        start = time.perf_counter()
        answerer.search(q, collection)
        latencies.append((time.perf_counter() - start) * 1000)
    print(json.dumps(latencies))


def catch_up(ingest_env: dict[str, str], path: Path) -> None:
    """One instance's BM25 kept in step: time bringing it up to date (the generation check, and
    a rebuild from the shared database when it moved) and a whole search, first from nothing,
    then warm, then after another instance added ``path``; print JSON."""
    from rag.system import Docent

    docent = Docent()
    answerer, collection = docent.answerer(), docent.collection()
    answerer.embedder.encode(["warm up the model"])  # so search times exclude loading it
    rows: list[list[float]] = []

    def timed() -> None:
        start = time.perf_counter()
        collection.lexical()
        middle = time.perf_counter()
        answerer.search("How do I set a CRAN mirror?", collection)
        rows.append([(middle - start) * 1000, (time.perf_counter() - middle) * 1000])

    timed()
    timed()
    _ingest(ingest_env, [path]).communicate()
    timed()
    print(json.dumps({"chunks": len(collection.rows.ready_texts()[0]), "rows": rows}))


def _questions(n: int) -> list[str]:
    dev = rman()
    texts = [q.text for q in dev.tune() + dev.report()]
    return (texts * (n // len(texts) + 1))[:n]


def _ingest(env: dict[str, str], paths: list[Path]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ingest", *map(str, paths)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def main() -> None:
    """Start the servers, run the loads, print the tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.shared")
    parser.add_argument("--instances", default="1,2,4")
    parser.add_argument("--queries", type=int, default=200, help="per instance")
    args = parser.parse_args()
    pdfs = [REPO / "tests/data/R-intro.pdf", REPO / "tests/data/R-admin.pdf"]
    pdfs.append(REPO / "bench/data/R-exts.pdf")
    sources = {p.name: p for p in pdfs}
    work = Path(tempfile.mkdtemp(prefix="docent-shared-"))
    chroma_port = free_port()
    chroma = [
        str(Path(sys.executable).with_name("chroma")),
        "run",
        "--path",
        str(work / "chroma"),
        "--host",
        "127.0.0.1",
        "--port",
        str(chroma_port),
    ]
    servers = postgres_server(), serve(chroma, chroma_port, work / "chroma.log", timeout=120)
    with servers[0] as (host, port), servers[1]:
        url = new_database(host, port)
        start = time.perf_counter()
        built = _ingest(_env(url, chroma_port, work / "indexer", "rman"), pdfs)
        built.communicate()
        print(f"indexed the R manuals in {time.perf_counter() - start:.0f} s\n")
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}; PostgreSQL 15 and chroma run on loopback\n"
        )
        print("| instances | queries | p50 ms | p95 ms | queries/s (all) |\n|---|---|---|---|---|")
        questions = json.dumps(_questions(args.queries))
        for n in map(int, args.instances.split(",")):
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "bench.shared", "--worker"],
                    cwd=REPO,
                    env=_env(url, chroma_port, work / f"reader-{n}-{i}", "rman"),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
                for i in range(n)
            ]
            for p in procs:
                assert p.stdin is not None
                p.stdin.write(questions)
                p.stdin.close()
            started = time.perf_counter()
            results = []
            for p in procs:  # stdin is closed already: read the output, don't communicate()
                assert p.stdout is not None
                results.append(json.loads(p.stdout.read().strip().splitlines()[-1]))
                p.wait()
            wall = time.perf_counter() - started
            latencies = sorted(x for r in results for x in r)
            print(
                f"| {n} | {len(latencies)} | {statistics.median(latencies):.0f} | "
                f"{percentile(latencies, 0.95):.0f} | {len(latencies) / wall:.1f} |",
                flush=True,
            )
        print("\n| ingest (R-intro and R-admin, one collection each) | seconds |\n|---|---|")
        two = [sources["R-intro.pdf"]], [sources["R-admin.pdf"]]
        started = time.perf_counter()
        for i, paths in enumerate(two):
            _ingest(_env(url, chroma_port, work / f"seq-{i}", f"seq-{i}"), paths).communicate()
        print(f"| one after the other | {time.perf_counter() - started:.0f} |")
        started = time.perf_counter()
        procs = [
            _ingest(_env(url, chroma_port, work / f"par-{i}", f"par-{i}"), paths)
            for i, paths in enumerate(two)
        ]
        for p in procs:
            p.communicate()
        print(f"| two instances at once | {time.perf_counter() - started:.0f} |")
        _catch_up(url, chroma_port, work)


def _catch_up(url: str, chroma_port: int, work: Path) -> None:
    """Print how long an instance's BM25 takes to catch up with another instance's write."""
    note = work / "note.md"
    note.write_text("# A note\n\nThe quokka is a small marsupial from Western Australia.\n")
    other = _env(url, chroma_port, work / "writer-2", "rman")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.shared", "--catch-up"],
        cwd=REPO,
        env=_env(url, chroma_port, work / "reader-catch-up", "rman")
        | {"BENCH_OTHER": json.dumps(other), "BENCH_NOTE": str(note)},
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"\n| one instance, {result['chunks']:,} chunks | BM25 brought up to date, ms "
        "| then the search, ms |\n|---|---|---|"
    )
    names = ["first (built from the database)", "warm (generation unchanged)"]
    names.append("after another instance added a document")
    for name, (update, search) in zip(names, result["rows"], strict=True):
        print(f"| {name} | {update:.0f} | {search:.0f} |")


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        worker(json.loads(sys.stdin.read()))
    elif sys.argv[1:] == ["--catch-up"]:
        catch_up(json.loads(os.environ["BENCH_OTHER"]), Path(os.environ["BENCH_NOTE"]))
    else:
        main()
