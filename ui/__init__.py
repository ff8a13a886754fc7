"""Docent's Streamlit UI, in small parts; ``app.py`` puts them on the page. Logic lives in
``rag`` and ``ingest``: these modules lay out, read widgets and call them."""
