"""Who may do what: the policy table, and its enforcement in rag itself (no UI involved)."""

from __future__ import annotations

import pytest

from ingest.pipeline import Source, ingest_sources
from rag.access import EVERYONE, POLICY, AccessDenied, User, allowed, role_of
from rag.system import Docent
from tests.helpers import FACTS, make_pdf

# (role, action, allowed): the whole policy, written out by hand.
TABLE = [
    ("admin", "read", True),
    ("admin", "write", True),
    ("admin", "manage", True),
    ("owner", "read", True),
    ("owner", "write", True),
    ("owner", "manage", True),
    ("writer", "read", True),
    ("writer", "write", True),
    ("writer", "manage", False),
    ("reader", "read", True),
    ("reader", "write", False),
    ("reader", "manage", False),
    ("none", "read", False),
    ("none", "write", False),
    ("none", "manage", False),
]


@pytest.mark.parametrize(("role", "action", "expected"), TABLE)
def test_policy_table(role: str, action: str, expected: bool) -> None:
    assert allowed(role, action) is expected  # type: ignore[arg-type]


def test_the_table_covers_every_role_and_action() -> None:
    assert {(r, a) for r, a, _ in TABLE} == {
        (r, a) for r in POLICY for a in ("read", "write", "manage")
    }


def test_roles_from_owner_and_grants() -> None:
    ann, bob = User("ann"), User("bob")
    assert role_of(ann, "ann", {}) == "owner"
    assert role_of(bob, "ann", {}) == "none"
    assert role_of(bob, "ann", {"bob": "reader"}) == "reader"
    assert role_of(bob, "ann", {EVERYONE: "reader", "bob": "writer"}) == "writer"
    assert role_of(bob, "ann", {EVERYONE: "writer", "bob": "reader"}) == "writer"  # the best
    assert role_of(User("root", admin=True), "ann", {}) == "admin"
    assert role_of(bob, None, {}) == "none"  # made before accounts: admins only


ANN, BOB, CAT = User("ann"), User("bob"), User("cat")
ADMIN = User("root", admin=True)


def _ingest(app: Docent, user: User, name: str, *files: tuple[str, bytes]) -> list[str]:
    sources = [Source.from_bytes(n, d) for n, d in files]
    results = ingest_sources(sources, app.collection(name, user), app.embedder, app.settings)
    return [r.status for r in results]


def test_a_private_collection_is_invisible_and_closed_to_others(local: Docent) -> None:
    assert _ingest(local, ANN, "ann-notes", ("facts.pdf", make_pdf(FACTS))) == ["indexed"]
    lib = local.library
    assert lib.collections(ANN) == ["ann-notes"] and lib.collections(BOB) == []
    assert lib.collections(ADMIN) == ["ann-notes"]
    for attempt in (
        lambda: local.search("bees", "ann-notes", user=BOB),
        lambda: local.ask("bees?", "ann-notes", user=BOB),
        lambda: local.collection("ann-notes", BOB),
        lambda: lib.delete_collection("ann-notes", BOB),
        lambda: lib.share("ann-notes", BOB, "bob", "writer"),
        lambda: lib.access("ann-notes", BOB),
    ):
        with pytest.raises(AccessDenied, match="bob has no access"):
            attempt()
    # a name that does not exist reads the same as one that is not yours
    with pytest.raises(AccessDenied, match="bob has no access"):
        lib.share("no-such-thing", BOB, "bob", "writer")
    assert local.search("waggle dance", "ann-notes", user=ADMIN).passages


def test_readers_ask_writers_change_owners_share(local: Docent) -> None:
    _ingest(local, ANN, "team", ("facts.pdf", make_pdf(FACTS)))
    lib = local.library
    lib.share("team", ANN, "bob", "reader")
    lib.share("team", ANN, EVERYONE, "reader")
    lib.share("team", ANN, "cat", "writer")
    assert lib.access("team", BOB) == (
        "ann",
        {"bob": "reader", EVERYONE: "reader", "cat": "writer"},
    )
    assert "waggle" in "".join(local.ask("How do bees tell direction?", "team", user=BOB))
    reader = local.collection("team", BOB)
    [doc] = reader.documents()
    with pytest.raises(AccessDenied, match="bob is a reader of 'team' and may not add"):
        reader.delete_document(doc.doc_id)
    with pytest.raises(AccessDenied, match="may not add or delete"):
        _ingest(local, BOB, "team", ("b.md", b"# B\nBob was here.\n"))
    with pytest.raises(AccessDenied, match="may not share or delete"):
        lib.delete_collection("team", BOB)
    with pytest.raises(AccessDenied, match="cat is a writer of 'team' and may not share"):
        lib.share("team", CAT, "bob", "writer")
    assert _ingest(local, CAT, "team", ("c.md", b"# C\nCats sleep all day.\n")) == ["indexed"]
    assert [d.name for d in local.collection("team", BOB).documents()] == ["facts.pdf", "c.md"]
    lib.share("team", ANN, "bob", None)  # bob still reads, as everyone does
    lib.share("team", ANN, EVERYONE, None)
    assert lib.collections(BOB) == []
    lib.delete_collection("team", ADMIN)
    assert lib.collections(ADMIN) == []


def test_a_grant_changed_after_opening_is_checked_again_when_writing(local: Docent) -> None:
    _ingest(local, ANN, "team", ("a.md", b"# A\nAnn's first note.\n"))
    local.library.share("team", ANN, "bob", "writer")
    handle = local.collection("team", BOB)  # a writer when opened...
    local.library.share("team", ANN, "bob", "reader")  # ...a reader before the write
    with pytest.raises(AccessDenied, match="bob is a reader"):
        ingest_sources(
            [Source.from_bytes("b.md", b"# B\nNo.\n")], handle, local.embedder, local.settings
        )
    assert [d.name for d in handle.documents()] == ["a.md"]


def test_someone_elses_new_name_is_taken(local: Docent) -> None:
    _ingest(local, ANN, "shared-name", ("a.md", b"# A\nAnn's note.\n"))
    with pytest.raises(AccessDenied):
        _ingest(local, BOB, "shared-name", ("b.md", b"# B\nBob's note.\n"))
