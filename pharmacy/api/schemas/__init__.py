"""Pydantic v2 models of every API request and response body (SPEC 8.1), one module per area.

``base`` holds the strict base model, the bounded scalar types, :func:`~.base.validate` (a body
into a model, or the SPEC's 422 ``fields``) and :func:`~.base.operation`, which records an
operation's models for ``/api/v1/openapi.json``.
"""
