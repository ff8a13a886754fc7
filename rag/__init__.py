"""Docent's retrieval and answering library. Never imports ``ingest`` or ``streamlit``."""

from rag.offline import go_offline

go_offline()
