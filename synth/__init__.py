"""Synthetic labelled text lines: corpus, charset, fonts, rendering and shards."""
