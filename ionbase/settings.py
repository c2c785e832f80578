"""Settings in one object, read from ``IONBASE_*`` environment variables when asked for.

Nothing is read at import time: call ``Settings.from_env()`` where the application starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("ionbase", appauthor=False))


def _bool(text: str | None, default: bool) -> bool:
    if text is None or text == "":
        return default
    return text.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one Ionbase process."""

    mongodb_uri: str | None = None  # MONGODB_URI; None starts the embedded server
    db_name: str = "ionbase"
    data_dir: Path = field(default_factory=_default_data_dir)
    host: str = "127.0.0.1"
    port: int = 8000
    read_requires_key: bool = False
    max_request_bytes: int = 64 * 1024 * 1024
    max_file_bytes: int = 200 * 1024 * 1024
    max_rows_per_batch: int = 2_000_000
    rate_limit_per_minute: int = 0  # 0: no rate limit
    dask_scheduler: str | None = None
    workers: int = 0  # 0: os.cpu_count()
    seed_dir: Path | None = None
    testing: bool = False
    embedded_idle_exit_s: float = 15.0  # the embedded store stops this long after its last client
    secret_file: Path | None = None  # IONBASE_SECRET_FILE; None: <data_dir>/server.secret (API key HMAC)

    @classmethod
    def from_env(cls, env: dict | None = None, **overrides) -> "Settings":
        """Build settings from the environment (``IONBASE_*`` plus ``MONGODB_URI``)."""
        e = os.environ if env is None else env
        kwargs: dict = {}
        if e.get("MONGODB_URI") or e.get("IONBASE_MONGODB_URI"):
            kwargs["mongodb_uri"] = e.get("IONBASE_MONGODB_URI") or e.get("MONGODB_URI")
        if e.get("IONBASE_DB_NAME"):
            kwargs["db_name"] = e["IONBASE_DB_NAME"]
        if e.get("IONBASE_DATA_DIR"):
            kwargs["data_dir"] = Path(e["IONBASE_DATA_DIR"]).expanduser()
        if e.get("IONBASE_HOST"):
            kwargs["host"] = e["IONBASE_HOST"]
        if e.get("IONBASE_PORT"):
            kwargs["port"] = int(e["IONBASE_PORT"])
        kwargs["read_requires_key"] = _bool(e.get("IONBASE_READ_REQUIRES_KEY"), False)
        for name in ("max_request_bytes", "max_file_bytes", "max_rows_per_batch", "rate_limit_per_minute", "workers"):
            val = e.get(f"IONBASE_{name.upper()}")
            if val:
                kwargs[name] = int(val)
        if e.get("IONBASE_DASK_SCHEDULER"):
            kwargs["dask_scheduler"] = e["IONBASE_DASK_SCHEDULER"]
        if e.get("IONBASE_EMBEDDED_IDLE_EXIT_S"):
            kwargs["embedded_idle_exit_s"] = float(e["IONBASE_EMBEDDED_IDLE_EXIT_S"])
        if e.get("IONBASE_SECRET_FILE"):
            kwargs["secret_file"] = Path(e["IONBASE_SECRET_FILE"]).expanduser()
        if e.get("IONBASE_SEED_DIR"):
            kwargs["seed_dir"] = Path(e["IONBASE_SEED_DIR"])
        kwargs.update(overrides)
        return cls(**kwargs)

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @property
    def embedded(self) -> bool:
        return not self.mongodb_uri

    @property
    def secret_path(self) -> Path:
        """The file holding the server secret that API key hashes are keyed with."""
        return self.secret_file or self.data_dir / "server.secret"

    @property
    def seed_path(self) -> Path:
        if self.seed_dir:
            return self.seed_dir
        return Path(__file__).resolve().parent.parent / "seed_data"
