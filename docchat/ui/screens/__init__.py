"""Screens: main (search + chat), indexing, collections, sessions, settings, dialogs."""
