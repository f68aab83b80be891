"""The inspection service: pipeline, decisions, storage, reject gate, API, CLI."""
