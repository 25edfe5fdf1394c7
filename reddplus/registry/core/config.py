"""Registry settings from the environment (prefix ``REDDPLUS_REGISTRY_``), via pydantic-settings.

=====================================  ===================================================
variable                               meaning
=====================================  ===================================================
``REDDPLUS_REGISTRY_DATABASE_URL``     SQLAlchemy URL; ``sqlite:///ABS/PATH.sqlite`` (default:
                                       ``$XDG_DATA_HOME/reddplus/registry.sqlite``) or
                                       ``postgresql+psycopg://user@host/db``
``REDDPLUS_REGISTRY_SECRET_KEY``       key of the HMAC that hashes API tokens (>= 32 chars);
                                       refused when empty or a known default, unless dev mode
``REDDPLUS_REGISTRY_DEV_MODE``         ``1`` allows a built-in development secret
``REDDPLUS_REGISTRY_PROGRAM``          program code in serials (default ``RDDP``)
``REDDPLUS_REGISTRY_MAX_BODY_BYTES``   larger request bodies get 413 (default 65536)
=====================================  ===================================================
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from reddplus.errors import ConfigError

#: the development secret, accepted only with ``dev_mode=True``
DEV_SECRET = "reddplus-registry-development-secret-do-not-use"
_KNOWN_DEFAULTS = {"", "changeme", "change-me", "secret", "default", "password", DEV_SECRET}


def default_database_url() -> str:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite:///{(base / 'reddplus' / 'registry.sqlite').resolve()}"


class RegistrySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REDDPLUS_REGISTRY_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    secret_key: str = ""
    dev_mode: bool = False
    program: str = "RDDP"
    unit_type: str = "VCU"
    max_body_bytes: int = 65536
    pool_size: int = 10

    @field_validator("program")
    @classmethod
    def _program(cls, v: str) -> str:
        if not (v.isalnum() and v.isupper() and 2 <= len(v) <= 8):
            raise ValueError("program must be 2-8 upper-case letters/digits")
        return v

    @model_validator(mode="after")
    def _secret(self) -> "RegistrySettings":
        if self.dev_mode and not self.secret_key:
            self.secret_key = DEV_SECRET
        if not self.dev_mode and (self.secret_key.strip().lower() in _KNOWN_DEFAULTS or len(self.secret_key) < 32):
            raise ValueError("REDDPLUS_REGISTRY_SECRET_KEY is empty, a default or shorter than 32 characters "
                             "(set a random secret, or REDDPLUS_REGISTRY_DEV_MODE=1 for development)")
        return self


def load_settings(**overrides) -> RegistrySettings:
    """Settings from the environment plus ``overrides``; :class:`ConfigError` names the bad key."""
    from pydantic import ValidationError

    try:
        return RegistrySettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first.get("loc", ())) or "secret_key"
        raise ConfigError(first.get("msg", str(err)), key=f"REDDPLUS_REGISTRY_{key.upper()}") from err
