r"""Registry settings from the environment (prefix ``REDDPLUS_REGISTRY_``), via pydantic-settings.

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
``..._MAX_UNVERIFIED_ISSUANCE``        bound of an issuance without a verified monitoring
                                       period [tCO2e] (default 100,000,000)
``..._IDEMPOTENCY_TTL_HOURS``          how long a stored response is replayed (default 24)
``..._AUTH_MAX_FAILURES``              bad tokens / failed logins allowed per client address
``..._AUTH_WINDOW_SECONDS``            ... in this window [s] (defaults 20 in 60 s); then 429
``..._SESSION_HOURS``                  dashboard session lifetime (default 8)
``..._SECURE_COOKIES``                 ``1``: cookies always ``Secure`` (behind a TLS proxy);
                                       they are whenever the request arrives over HTTPS
``..._BATCH_SPENDS``                   ``0`` turns off group commit of spends (default on)
=====================================  ===================================================

The secret key is checked for strength, not only length: at least 32 characters, no character
more than a quarter of the string, and at least 100 bits by the Shannon estimate (which undercounts a random
hex key: ``secrets.token_hex(16)`` scores about 115)
:math:`n \cdot H`, :math:`H = -\sum_c p_c \log_2 p_c` over the key's characters
(``secrets.token_hex(32)`` gives about 250 bits; 32 × "a" gives 0).
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


MIN_SECRET_BITS = 100


def secret_strength_bits(secret: str) -> float:
    """Estimated entropy of a secret [bit]: :math:`n H` (Shannon, per character), 0 when one character
    fills more than a quarter of it (``"a" * 32``, ``"ab" * 16`` and keyboard runs score low)."""
    import math
    from collections import Counter

    n = len(secret)
    if n == 0:
        return 0.0
    counts = Counter(secret)
    if max(counts.values()) > n / 4:
        return 0.0
    h = -sum(c / n * math.log2(c / n) for c in counts.values())
    # a repeated pattern ("Password1" * 4) carries only the entropy of its period
    period = next(p for p in range(1, n + 1) if all(secret[i] == secret[i % p] for i in range(n)))
    if period < n:
        n, secret = period, secret[:period]
    # runs such as "abcdef" or "123456" add little: count characters that continue a run at half weight
    runs = sum(1 for a, b in zip(secret, secret[1:]) if abs(ord(b) - ord(a)) == 1)
    return h * (n - runs / 2)


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
    max_unverified_issuance: int = Field(100_000_000, ge=1, le=10**12)
    idempotency_ttl_hours: float = Field(24.0, gt=0)
    auth_max_failures: int = Field(20, ge=1)
    auth_window_seconds: float = Field(60.0, gt=0)
    session_hours: float = Field(8.0, gt=0)
    secure_cookies: bool = False
    batch_spends: bool = True

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
        if not self.dev_mode and secret_strength_bits(self.secret_key) < MIN_SECRET_BITS:
            raise ValueError(f"REDDPLUS_REGISTRY_SECRET_KEY is too predictable ({secret_strength_bits(self.secret_key):.0f}"
                             f" bits estimated, {MIN_SECRET_BITS} needed); use e.g. python -c 'import secrets; "
                             "print(secrets.token_hex(32))'")
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
