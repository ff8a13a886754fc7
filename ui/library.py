"""The library in the sidebar: collections (create, share, delete), uploads, documents.

What a user may do is decided in ``rag`` (:mod:`rag.access`); this only hides the buttons
that would be refused anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import streamlit as st

from ingest.jobs import IngestJob, IngestJobs
from ingest.loaders import SUPPORTED
from ingest.pipeline import Source
from ingest.results import FileResult, counted
from rag.access import EVERYONE, AccessDenied, User, allowed
from rag.collection import Collection
from rag.config import Settings, check_collection_name, get_settings
from rag.cost import MILLION, CollectionCost, human, measure
from rag.docstore import DocStore, DocumentRecord
from rag.library import readable
from rag.lock import StoreBusyError
from rag.render import plain
from rag.system import Docent
from ui.boot import Boot
from ui.state import new_chat, state

ICONS = {"indexed": "✅", "already indexed": "☑️", "replaced": "🔄", "skipped": "⏭️", "failed": "❌"}


# A change waits while another writer (an upload here, another instance, the command line)
# holds the collection: up to DOCENT_LOCK_WAIT_S on a shared library. Say so meanwhile.
WAITING = "Deleting… if another upload is being written to this collection, this waits for it."


def library_panel(app: Docent, user: User, jobs: IngestJobs, boot: Boot) -> None:
    """Collections, uploads and documents of the current collection, and what it costs."""
    st.header("📚 Library")
    collection = collection_picker(app, user)
    if collection is None:
        return
    if allowed(collection.role, "manage"):
        sharing(app, user, collection)
    if allowed(collection.role, "write"):
        uploader(lambda sources: index_now(jobs, collection, sources))
    queued_error(boot)
    indexing(jobs, collection.name, user)
    documents(collection)
    cost_panel(app, collection)


def start_collection(settings: Settings, store: DocStore, user: User) -> str:
    """Where a session starts: the configured collection when accounts are off; with
    accounts, the first collection the user owns, else a new one of their own (collections
    shared with them are one click away in the picker). Needs only the database, so the
    page can show it while the model loads."""
    if settings.auth == "none":
        return settings.collection
    owners = store.owners()
    owned = [n for n in store.collections() if owners.get(n) == user.name]  # theirs: readable
    if owned:
        return owned[0]
    own = re.sub(r"[^A-Za-z0-9._-]+", "-", user.name).strip("._-")[:40] or "my"
    return f"{own}-docs"


def collection_from_address(store: DocStore, user: User) -> str | None:
    """The collection the page's address names (``?collection=``), if the user may read it:
    a reload or a bookmark comes back to the collection it showed, not to the default."""
    wanted = st.query_params.get("collection")
    return wanted if wanted and wanted in readable(store, user) else None


def show_collection_in_address(settings: Settings, name: str) -> None:
    """Name the collection on screen in the address; the configured default is left out,
    so a fresh page keeps a clean address."""
    if name == settings.collection:
        if "collection" in st.query_params:
            del st.query_params["collection"]
    elif st.query_params.get("collection") != name:
        st.query_params["collection"] = name


def collection_picker(app: Docent, user: User) -> Collection | None:
    """Switch to, or create, a collection; a handle on the current one (None: no access)."""
    s = state()
    readable_now = app.library.collections(user)
    if s.collection in readable_now:
        s.seen_collection = s.collection
    elif s.seen_collection == s.collection:
        # It was there earlier in this session: deleted in another tab or instance, or no
        # longer shared with this user. Uploading into it would quietly make it anew.
        st.warning(
            f"“{plain(s.collection)}” was deleted, or is no longer shared with you, "
            "elsewhere since this page showed it."
        )
        s.seen_collection = None
        s.collection = start_collection(app.settings, app.library.store, user)
        new_chat()
    names = sorted(set(readable_now) | {s.collection})
    chosen = st.selectbox("Collection", names, index=names.index(s.collection))
    if chosen != s.collection:
        s.collection = chosen
        new_chat()  # a chat is about one collection
        st.rerun()
    with st.expander("New collection"):
        new = st.text_input("Name", key="new_collection")
        # Buttons are never disabled by an input: a click lands before the text is committed.
        if st.button("Create"):
            try:
                check_collection_name(new.strip())
                new = new.strip()
                app.collection(new, user)  # refused if it exists and is not theirs
                s.collection = new
                new_chat()
                st.rerun()
            except (ValueError, AccessDenied) as exc:
                st.error(plain(str(exc)))
    try:
        return app.collection(s.collection, user)
    except AccessDenied as exc:
        st.error(plain(str(exc)))
        return None


def sharing(app: Docent, user: User, collection: Collection) -> None:
    """Owner or admin: who else may read or write, and deleting the collection."""
    owner, grants = app.library.access(collection.name, user)
    accounts = app.settings.auth == "accounts"
    with st.expander("Sharing and deletion" if accounts else "Delete collection"):
        if accounts:
            st.caption(f"Owner: {plain(owner or 'none (made before accounts)')}")
        for grantee, role in sorted(grants.items()):
            cols = st.columns([4, 1])
            who = "everyone" if grantee == EVERYONE else plain(grantee)
            cols[0].caption(f"{who}: {role}")
            if cols[1].button("✖", key=f"unshare-{grantee}", help=f"Stop sharing with {who}"):
                app.library.share(collection.name, user, grantee, None)
                st.rerun()
        if accounts:
            everyone = st.checkbox("Everyone who signs in", key="share_everyone")
            name = "" if everyone else st.text_input("User name", key="share_with")
            role = st.radio("as", ["reader", "writer"], horizontal=True, key="share_role")
            if st.button("Share"):
                grantee = EVERYONE if everyone else name.strip()
                if not grantee:
                    st.error("Give a user name, or tick “Everyone who signs in”.")
                elif grantee != EVERYONE and app.accounts.user(grantee) is None:
                    st.error(f"No user named {plain(grantee)}.")
                else:
                    app.library.share(collection.name, user, grantee, role)  # type: ignore[arg-type]
                    st.rerun()
        sure = st.checkbox(f"Yes, delete “{plain(collection.name)}” and its documents")
        if st.button("Delete collection", disabled=not sure):
            try:
                with st.spinner(WAITING):
                    app.library.delete_collection(collection.name, user)
                state().collection = start_collection(app.settings, app.library.store, user)
                new_chat()
                st.rerun()
            except (StoreBusyError, AccessDenied) as exc:
                st.error(plain(str(exc)))


def uploader(send: Callable[[list[Source]], None]) -> None:
    """Hand uploads to ``send`` (the background indexer, or the queue while the model loads);
    the page goes on at once."""
    s = state()
    # No `type=` filter: Streamlit would check names itself, before the script runs, and a
    # name it refuses (a NUL byte, another extension) replaces the page with a traceback.
    # Docent's loader checks each name and reports the ones it refuses, file by file.
    files = st.file_uploader(
        "Add documents: PDF, Word (.docx), Markdown, reStructuredText, text, HTML or CSV",
        accept_multiple_files=True,
        # The widget may only lower the server's cap; `make run` raises that cap to match.
        max_upload_size=get_settings().upload_limit_mb,
        key=f"uploader-{s.upload_round}",
        help="Docent reads " + ", ".join(sorted(SUPPORTED)),
    )
    if files and st.button("Index", type="primary"):
        send([Source.from_bytes(f.name, f.getvalue()) for f in files])
        s.upload_round += 1  # clears the uploader
        st.rerun()


def index_now(jobs: IngestJobs, collection: Collection, sources: list[Source]) -> None:
    """Start indexing ``sources``; the session follows that job."""
    state().job_id = jobs.start(collection, sources).id


def queued_error(boot: Boot) -> None:
    """Files this session sent while the model loaded that could not be indexed, and why."""
    upload = boot.upload(state().get("queued_id"))
    if upload is not None and upload.error:
        st.error(f"{', '.join(map(plain, upload.files))} not indexed: {plain(upload.error)}")


def indexing(jobs: IngestJobs, name: str, user: User) -> None:
    """The collection's indexing jobs, kept up to date while any runs (also after a reload)."""

    # Poll only while something runs: a job started in another tab shows at the next rerun.
    busy = any(not j.done for j in jobs.for_collection(name))

    @st.fragment(run_every=1.0 if busy else None)
    def watch() -> None:
        running = [j for j in jobs.for_collection(name) if not j.done]
        for job in running:
            show_job(job, user)
        if state().get("watching") and not running:
            state().watching = False
            st.rerun()  # the whole page: the documents and the chat box change
        state().watching = bool(running)

    watch()
    # How the user's latest upload ended, whichever session sent it: a reload during indexing
    # starts a new session, which must still say how each file ended.
    mine = [j for j in jobs.for_collection(name) if j.user == user.name]
    if mine and mine[-1].done:
        show_results(mine[-1])


def show_job(job: IngestJob, viewer: User) -> None:
    """A running job's progress (and whose it is, if not the viewer's)."""
    p = job.progress
    what = "queued"
    if p is not None:
        what = f"{plain(p.name)}: {p.stage}" + (f" {p.done}/{p.of} chunks" if p.of else "")
    whose = "" if job.user == viewer.name else f" for {plain(job.user)}"
    where = " on another server" if job.elsewhere else ""
    st.progress(job.share, text=f"Indexing {len(job.files)} file(s){whose}{where}… {what}")


def show_results(job: IngestJob) -> None:
    """How each file of the user's last upload ended."""
    if job.error:
        st.error(plain(job.error))
    for r in job.results or []:
        st.caption(result_line(r))


def result_line(r: FileResult) -> str:
    """One file's outcome."""
    detail = f" — {plain(r.reason)}" if r.reason else f" — {counted(r.chunks, 'chunk')}"
    return f"{ICONS.get(r.status, '•')} **{r.status}**: {plain(r.name)}{detail}"


def documents(collection: Collection) -> None:
    """The collection's documents, each with a delete button for those who may."""
    writer = allowed(collection.role, "write")
    docs = collection.documents()
    pending = next((d for d in docs if d.doc_id == state().get("confirm_delete")), None)
    if pending is not None and not writer:
        # The delete was being confirmed when the user's access changed (another tab, the
        # owner): the buttons are gone, so say why rather than drop it silently.
        state().pop("confirm_delete", None)
        st.warning(
            f"{plain(pending.name)} was not deleted: you are now a {collection.role} of "
            "this collection, and may no longer change it."
        )
    document_list(docs, collection if writer else None)


def document_list(docs: list[DocumentRecord], deletable: Collection | None = None) -> None:
    """Documents, with delete buttons when ``deletable`` is the (writable) collection; a
    delete asks first, under the document it would remove."""
    note = state().pop("library_note", None)
    if note:
        st.success(plain(note))
    st.subheader(f"{len(docs)} document{'s' * (len(docs) != 1)}")
    for d in docs:
        cols = st.columns([5, 1])
        added = datetime.fromtimestamp(d.added_at).strftime("%Y-%m-%d %H:%M")
        pages = f"{counted(d.pages, 'page')} · " if d.pages else ""
        cols[0].markdown(f"**{plain(d.name)}**  \n{pages}{counted(d.chunks, 'chunk')} · {added}")
        if deletable is None:
            continue
        if cols[1].button("🗑", key=f"del-{d.doc_id}", help=f"Delete {plain(d.name)}"):
            state()["confirm_delete"] = d.doc_id
        if state().get("confirm_delete") == d.doc_id:
            confirm_delete(deletable, d)


def confirm_delete(collection: Collection, d: DocumentRecord) -> None:
    """Delete one document once the user confirms it (a single click could hit the wrong
    row: the list shifts as documents go)."""
    s = state()
    st.warning(
        f"Delete **{plain(d.name)}** from this collection? Its passages will no longer be "
        "found; answers that quoted it keep their quotes."
    )
    yes, no = st.columns(2)
    if yes.button("Delete", key=f"del-yes-{d.doc_id}", type="primary"):
        s.pop("confirm_delete", None)
        try:
            with st.spinner(WAITING):
                collection.delete_document(d.doc_id)
        except (StoreBusyError, AccessDenied) as exc:
            st.error(plain(str(exc)))
            return
        s["library_note"] = f"Deleted {d.name}."
        st.rerun()
    if no.button("Cancel", key=f"del-no-{d.doc_id}"):
        s.pop("confirm_delete", None)
        st.rerun()


def cost_panel(app: Docent, collection: Collection) -> None:
    """What the collection takes on disk, and what a million chunks would (measured only
    while the expander is open: it reads every collection's count and a sample of vectors)."""
    panel = st.expander("💾 Collection cost", key="cost_panel", on_change="rerun")
    if not panel.open:
        return
    with panel:
        cost_table(measure(app.library, collection))


def cost_table(cost: CollectionCost) -> None:
    """The measured cost as a small table and the estimate for a million chunks."""
    dim = cost.dimension
    st.caption(
        f"**{cost.chunks:,} chunks**. Vectors in the durable copy: "
        f"{human(cost.vector_bytes)} a chunk (passage {cost.passage_bytes} B, float32 × {dim}; "
        f"{cost.sentences_per_chunk:.1f} sentences × {2 * dim} B, float16"
        + (f", from {cost.sampled} chunks)." if cost.sampled < cost.chunks else ").")
    )
    lines = ["| part | disk | a chunk |", "|---|---|---|"]
    for part in cost.parts:
        size = human(part.bytes) if part.bytes is not None else "not here"
        lines.append(f"| {plain(part.name)} | {size} | {human(part.per_chunk)} |")
    st.markdown("\n".join(lines))
    for part in cost.parts:
        if part.note:
            st.caption(f"{plain(part.name)}: {plain(part.note)}")
    million = cost.projected(MILLION)
    if million is None:
        st.caption("1M chunks: n/a until the collection holds a chunk.")
        return
    parts = "the parts on this disk" if not cost.complete else "all parts"
    st.caption(
        f"**1M chunks ≈ {human(million)}** ({parts}, at {human(cost.per_chunk)} a chunk). "
        "Shared parts are divided by every chunk they hold; in a small library their fixed "
        "overheads make this an overestimate."
    )
