"""Use cases: load, call the domain core, store, commit. Services own every commit."""
