"""Plumbing every app's views share: typed requests and htmx answers, serving stored
files, keyset cursors. No rules live here, only the mechanics."""
