"""Ingestion: find files, parse them into text with positions, cut the text into chunks."""
