"""The database behind the durable store: engine, tables and versioned schema migrations.

SQLAlchemy Core, so the same tables and queries serve SQLite (one machine, the default: a file
in the data dir) and PostgreSQL (a shared deployment). SQLite runs in WAL mode with
``synchronous=FULL``: a commit is on disk when it returns, which the crash-safe write order
relies on. Writers take SQLite's write lock when they begin (``BEGIN IMMEDIATE``), so two
writers never deadlock half-way through a transaction; readers never wait for writers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    select,
    text,
)

from rag.config import Settings

metadata = MetaData()

meta_table = Table(
    "meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
collections_table = Table(
    "collections",
    metadata,
    Column("name", Text, primary_key=True),
    Column("model", Text, nullable=False),
    Column("dimension", Integer, nullable=False),
    Column("normalized", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("generation", Integer, nullable=False, server_default="0"),
    Column("owner", Text),  # the user who made it; None: made before accounts (admins manage)
)
documents_table = Table(
    "documents",
    metadata,
    Column("collection", Text, primary_key=True),
    Column("doc_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("pages", Integer, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("added_at", Float, nullable=False),
    Column("state", Text, nullable=False),
)
chunks_table = Table(
    "chunks",
    metadata,
    Column("collection", Text, primary_key=True),
    Column("chunk_id", Text, primary_key=True),
    Column("doc_id", Text, nullable=False),
    Column("idx", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("meta", Text, nullable=False),
    Column("vector", LargeBinary, nullable=False),
    Column("sentences", LargeBinary),
    Index("chunks_by_doc", "collection", "doc_id", "idx"),
)
version_table = Table("schema_version", metadata, Column("version", Integer, nullable=False))

# -- accounts, sharing and saved chats (schema version 3) ------------------------------------
users_table = Table(
    "users",
    metadata,
    Column("name", Text, primary_key=True),
    Column("password_hash", Text),  # argon2; None for single-sign-on users
    Column("admin", Integer, nullable=False, server_default="0"),
    Column("created_at", Float, nullable=False),
    Column("sso_key", Text, unique=True),  # "<issuer>|<subject>" of a single sign-on identity
)
sessions_table = Table(
    "user_sessions",
    metadata,
    Column("token_hash", Text, primary_key=True),  # sha256 of the token: a leak can't sign in
    Column("user_name", Text, nullable=False, index=True),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)
failures_table = Table(
    "signin_failures",
    metadata,
    Column("key", Text, primary_key=True),  # "name:<name>" or "client:<address>"
    Column("failures", Integer, nullable=False),
    Column("last_at", Float, nullable=False),
    Column("locked_until", Float, nullable=False),
)
grants_table = Table(
    "grants",
    metadata,
    Column("collection", Text, primary_key=True),
    Column("grantee", Text, primary_key=True),  # a user name, or "*" for every user
    Column("role", Text, nullable=False),  # reader | writer
)
chats_table = Table(
    "chats",
    metadata,
    Column("id", Text, primary_key=True),
    Column("user_name", Text, nullable=False),
    Column("collection", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("chats_by_user", "user_name", "updated_at"),
)
chat_messages_table = Table(
    "chat_messages",
    metadata,
    Column("chat_id", Text, primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("role", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("answer", Text),  # JSON: the answer as it was shown, sources' text included
    Column("created_at", Float, nullable=False),
)
# -- indexing jobs, seen by every instance (schema version 5) ---------------------------------
ingest_jobs_table = Table(
    "ingest_jobs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("collection", Text, nullable=False, index=True),
    Column("user_name", Text, nullable=False),
    Column("instance", Text, nullable=False),  # the server process running it
    Column("files", Text, nullable=False),  # JSON list of file names
    Column("queued_at", Float, nullable=False),
    Column("progress", Text),  # JSON: the last progress report
    Column("results", Text),  # JSON: how each file ended
    Column("error", Text),
    Column("finished_at", Float),
    Column("heartbeat_at", Float, nullable=False),  # its instance was alive then
)
_V3_TABLES = [
    users_table,
    sessions_table,
    failures_table,
    grants_table,
    chats_table,
    chat_messages_table,
]


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer Docent; this one must not touch it."""


class DatabaseUnavailableError(RuntimeError):
    """The configured database cannot be reached."""


def _v2_generation_column(conn: Connection) -> None:
    """Generations move from ``meta`` keys into a column of ``collections``."""
    conn.execute(text("ALTER TABLE collections ADD COLUMN generation INTEGER NOT NULL DEFAULT 0"))
    for key, value in conn.execute(
        select(meta_table.c.key, meta_table.c.value).where(meta_table.c.key.like("generation:%"))
    ):
        conn.execute(
            collections_table.update()
            .where(collections_table.c.name == key.removeprefix("generation:"))
            .values(generation=int(value))
        )
    conn.execute(meta_table.delete().where(meta_table.c.key.like("generation:%")))


def _v3_accounts(conn: Connection) -> None:
    """Accounts, sharing and saved chats; collections get an owner."""
    conn.execute(text("ALTER TABLE collections ADD COLUMN owner TEXT"))
    metadata.create_all(conn, tables=_V3_TABLES)


def _v4_dirty_per_collection(conn: Connection) -> None:
    """The "Chroma being written" mark becomes one per collection (writers of different
    collections may run at once on a shared store): a store-wide mark marks them all."""
    legacy = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "chroma_dirty"))
    value = legacy.scalar()
    if value is not None:
        for (name,) in conn.execute(select(collections_table.c.name)):
            conn.execute(meta_table.insert().values(key=f"chroma_dirty:{name}", value=value))
        conn.execute(meta_table.delete().where(meta_table.c.key == "chroma_dirty"))


def _v5_ingest_jobs(conn: Connection) -> None:
    """Indexing jobs in the database, so every instance (and the next process) sees them."""
    metadata.create_all(conn, tables=[ingest_jobs_table])


# Migration N takes a database at version N-1 to version N. Version 1 is the first schema
# (before this table existed); a new database is created at the latest version directly.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    2: _v2_generation_column,
    3: _v3_accounts,
    4: _v4_dirty_per_collection,
    5: _v5_ingest_jobs,
}
LATEST = max(MIGRATIONS)


class Database:
    """An engine plus the two ways Docent uses it: :meth:`read` and :meth:`write`."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.exc import OperationalError

        self.url = url
        self.engine = _engine(url)
        self.dialect = self.engine.dialect.name
        try:
            self._migrate()
        except OperationalError as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: Exception) -> DatabaseUnavailableError:
        orig = getattr(exc, "orig", None)
        reason = str(orig).strip().splitlines()[0] if orig else type(exc).__name__
        return DatabaseUnavailableError(
            f"cannot reach the database at {describe_url(self.url)} ({reason}); start it "
            "(PostgreSQL: `pg_ctl start`), check DOCENT_DATABASE_URL, or unset it to use "
            "SQLite in the data dir"
        )

    def _connect(self) -> Connection:
        """A connection; a server that is down (or went down since) is named as such."""
        from sqlalchemy.exc import OperationalError

        try:
            return self.engine.connect()
        except OperationalError as exc:
            raise self._unreachable(exc) from None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (a snapshot: it never waits for a writer)."""
        with self._connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One atomic transaction: committed when the block ends, rolled back if it raises."""
        with self._connect() as conn:
            conn = conn.execution_options(docent_write=True)
            with conn.begin():
                yield conn

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def _migrate(self) -> None:
        with self.write() as conn:
            if self.dialect == "postgresql":  # several instances may start at once
                conn.execute(text("SELECT pg_advisory_xact_lock(4242424242)"))
            version = _version(conn)
            if version > LATEST:
                raise SchemaTooNewError(
                    f"the database at {describe_url(self.url)} has schema version {version}, "
                    f"newer than this Docent understands ({LATEST}); upgrade Docent"
                )
            if version == 0:
                metadata.create_all(conn)
                conn.execute(version_table.insert().values(version=LATEST))
                return
            for step in range(version + 1, LATEST + 1):
                MIGRATIONS[step](conn)
            if version < LATEST:
                conn.execute(version_table.delete())
                conn.execute(version_table.insert().values(version=LATEST))


def _version(conn: Connection) -> int:
    """The schema version: 0 = empty database, 1 = the first schema (no version table)."""
    tables = set(inspect(conn).get_table_names())
    if "schema_version" in tables:
        return int(conn.execute(select(version_table.c.version)).scalar_one())
    if "chunks" not in tables:
        return 0
    columns = {c["name"] for c in inspect(conn).get_columns("chunks")}
    if "sentences" not in columns:  # stores made before sentence vectors existed
        conn.execute(text("ALTER TABLE chunks ADD COLUMN sentences BLOB"))
    metadata.create_all(conn, tables=[version_table])
    conn.execute(version_table.insert().values(version=1))
    return 1


def _engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("docent_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def open_database(settings: Settings) -> Database:
    """The configured database: ``DOCENT_DATABASE_URL``, or SQLite in the data dir."""
    if settings.database_url:
        return Database(settings.database_url)
    path = settings.data_dir / "docent.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return Database(f"sqlite:///{path.resolve()}")


def describe_url(url: str) -> str:
    """A database URL fit for messages and logs: its password is never shown."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
