"""The HTTP ingest gateway (FastAPI + uvicorn) for regional systems that are not written in Python."""

from adapters.gateway.app import GatewayConfig, create_app, request_schema
from adapters.gateway.auth import ApiKey, ApiKeyStore, hash_api_key, new_api_key
from adapters.gateway.exceptions import ApiKeyConfigError, GatewayError
from adapters.gateway.server import build_gateway, serve

__all__ = [
    "create_app",
    "build_gateway",
    "serve",
    "request_schema",
    "GatewayConfig",
    "ApiKey",
    "ApiKeyStore",
    "hash_api_key",
    "new_api_key",
    "GatewayError",
    "ApiKeyConfigError",
]
