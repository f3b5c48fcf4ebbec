"""The HTTP service: the engine's commands and reads as a JSON API, and a console.

``create_app(...)`` builds the ASGI application (FastAPI) that ``escalation
http`` serves with uvicorn and that a host may mount; see docs/http.md.
"""

from escalation.http.app import create_app

__all__ = ["create_app"]
