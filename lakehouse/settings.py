"""Configuration: one ``Settings`` read from ``LAKEHOUSE_*`` variables and an optional TOML file.

The TOML file is named by ``LAKEHOUSE_CONFIG_FILE``; environment variables win over it, and
values passed in code (the Serve app's ``settings`` args) win over both. Two sections have
fields of their own: ``embed`` (``LAKEHOUSE_EMBED_<FIELD>``, ``[embed]``) and ``chat``
(``LAKEHOUSE_CHAT_<FIELD>``, ``[chat]``). An unknown key anywhere (a ``LAKEHOUSE_*``
variable, a TOML key, an args key) is refused at start, naming the closest known one.
Every local file the service writes lives under ``data_dir``.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from lakehouse.chat.config import ChatConfig
from lakehouse.embed.config import EmbedConfig
from lakehouse.errors import InvalidInput

MiB = 1024 * 1024


class Settings(BaseSettings):
    """Every knob of the service; see README "Configuration" for the table."""

    model_config = SettingsConfigDict(
        env_prefix="LAKEHOUSE_",
        extra="forbid",
        frozen=True,
        env_nested_delimiter="_",  # LAKEHOUSE_EMBED_BACKEND -> embed.backend
        env_nested_max_split=1,
    )

    data_dir: Path = Path("./data")

    # object store
    store_backend: Literal["local", "s3"] = "local"
    s3_endpoint: str | None = None
    s3_bucket: str = "lakehouse"
    s3_region: str = "us-east-1"
    s3_prefix: str = ""
    max_object_bytes: int = Field(default=64 * MiB, ge=1)
    max_list: int = Field(default=1000, ge=1, le=100_000)
    # temp files (tmp/put-*, upload-*, ingest-*, spills) untouched this long are a killed
    # writer's: removed when a store opens
    tmp_stale_after_s: float = Field(default=3600.0, ge=0)

    # ingest
    ingest_max_bytes: int = Field(default=1024 * MiB, ge=1)
    ingest_block_bytes: int = Field(default=512 * 1024, ge=64 * 1024)
    ingest_max_field_bytes: int = Field(default=16 * MiB, ge=64 * 1024, le=1024 * MiB)
    ingest_max_columns: int = Field(default=2_000, ge=1, le=100_000)

    # SQL
    sql_max_rows: int = Field(default=10_000, ge=1, le=1_000_000)
    sql_timeout_s: float = Field(default=10.0, gt=0, le=600)
    sql_memory_limit: str = "1GB"
    sql_threads: int = Field(default=2, ge=1, le=64)
    sql_max_chars: int = Field(default=100_000, ge=1)
    sql_max_result_bytes: int = Field(default=8 * MiB, ge=1024)
    sql_workers: int = Field(default=2, ge=1, le=64)
    # per SQL worker: datasets kept in memory while their uncompressed Parquet fits (inside
    # sql_memory_limit; 0 reads every dataset from its file at each query)
    sql_cache_bytes: int = Field(default=128 * MiB, ge=0)
    # each SQL worker process's address-space limit: the replica's SQL memory bound is
    # sql_workers x this (DuckDB's memory_limit does not cover every allocation)
    sql_worker_max_bytes: int = Field(default=3 * 1024 * MiB, ge=1024 * MiB)

    # LLM safety net
    roster_dataset: str = "workers"

    # matrix search: repeat-query cache, low-confidence flag, playbook boosts
    matrix_cache_entries: int = Field(default=1024, ge=0, le=1_000_000)
    matrix_cache_ttl_s: float = Field(default=60.0, gt=0, le=86_400)
    matrix_cache_fresh_s: float = Field(default=0.5, ge=0, le=1.0)
    matrix_low_confidence_below: float = Field(default=0.41, ge=-1, le=1)
    playbook_half_life_days: float = Field(default=30.0, gt=0, le=3650)
    playbook_similarity_threshold: float = Field(default=0.75, ge=-1, le=1)
    playbook_strength: float = Field(default=1.0, ge=0, le=100)

    # observer ring and span export (off by default)
    observer_capacity: int = Field(default=10_000, ge=1, le=10_000_000)
    export_target: Literal["off", "otlp", "langfuse"] = "off"
    export_endpoint: str = ""
    export_public_key: str = ""
    export_secret_key: SecretStr = SecretStr("")
    export_timeout_s: float = Field(default=5.0, gt=0, le=120)

    # HTTP
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    auth_tokens: str = ""
    allow_cidrs: str = ""
    max_body_bytes: int = Field(default=1 * MiB, ge=1)
    max_vectors_body_bytes: int = Field(default=128 * MiB, ge=1)
    max_ongoing_requests: int = Field(default=256, ge=1)
    replicas: int = Field(default=1, ge=1)
    # Ray resources each vector shard actor asks for, e.g. {"lakehouse_shards": 0.01}: then only
    # nodes started with that resource (`ray start --resources`) host shards. Shards spread
    # over the nodes that may host them either way.
    shard_resources: dict[str, float] = Field(default_factory=dict, max_length=8)
    # per replica: read copies of the shards that live on its machine, searched in the
    # replica itself while they are at the live shard's state (0: every search asks the shard)
    local_read_bytes: int = Field(default=256 * MiB, ge=0)
    # search, add, SQL and matrix search answered past FastAPI's router (deployments/hot.py);
    # false leaves every request to the router
    hot_routes: bool = True
    haproxy: bool = True
    # where HAProxy's stats page and Prometheus exporter listen (deployments/haproxy_loopback.sh)
    haproxy_admin_host: str = "127.0.0.1"
    # MCP (/mcp): the write tools (record_outcome, pathway_add) are listed only when true
    mcp_write: bool = False

    # sections; LAKEHOUSE_OLLAMA_HOST is their shared default Ollama
    ollama_host: str | None = Field(default=None, max_length=500)
    embed: EmbedConfig = Field(default_factory=EmbedConfig)
    chat: ChatConfig = Field(default_factory=ChatConfig)

    @model_validator(mode="before")
    @classmethod
    def _section_defaults(cls, data: Any) -> Any:
        """The model cache under ``data_dir``, and the shared Ollama host, unless set."""
        if not isinstance(data, dict):
            return data
        embed, chat = _section(data.get("embed")), _section(data.get("chat"))
        embed.setdefault("cache_dir", Path(data.get("data_dir", "./data")).resolve() / "models")
        if data.get("ollama_host"):
            embed.setdefault("ollama_host", data["ollama_host"])
            chat.setdefault("ollama_host", data["ollama_host"])
        return {**data, "embed": embed, "chat": chat}

    @field_validator("allow_cidrs")
    @classmethod
    def _valid_cidrs(cls, value: str) -> str:
        for cidr in _split(value):
            ipaddress.ip_network(cidr, strict=False)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        check_environment()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = os.environ.get("LAKEHOUSE_CONFIG_FILE")
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @property
    def tokens(self) -> list[str]:
        """Bearer tokens accepted at once (comma-separated, for rotation)."""
        return _split(self.auth_tokens)

    @property
    def cidrs(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(c, strict=False) for c in _split(self.allow_cidrs)]

    @property
    def objects_dir(self) -> Path:
        return self.data_dir.resolve() / "objects"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir.resolve() / "tmp"

    @property
    def boards_dir(self) -> Path:
        """Shards' boards: which state each live shard on this machine serves."""
        return self.data_dir.resolve() / "boards"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir.resolve() / "logs"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir.resolve() / "cache"


# read by other parts (the config file's name, the client's server and token), not Settings
# read elsewhere: the client's URL and token, and the Ollama of one node, which the bulk job's
# embedders read from their node's environment (actors.jobs.placement), not from Settings
OTHER_VARIABLES = (
    "LAKEHOUSE_CONFIG_FILE",
    "LAKEHOUSE_URL",
    "LAKEHOUSE_TOKEN",
    "LAKEHOUSE_NODE_OLLAMA_HOST",
)


def known_variables() -> set[str]:
    """Every ``LAKEHOUSE_*`` name a setting is read from."""
    names = set(OTHER_VARIABLES)
    for name, field in Settings.model_fields.items():
        names.add(f"LAKEHOUSE_{name.upper()}")
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            names.update(f"LAKEHOUSE_{name.upper()}_{sub.upper()}" for sub in section.model_fields)
    return names


def check_environment(environ: dict[str, str] | None = None) -> None:
    """Refuse a ``LAKEHOUSE_*`` variable that no setting reads (a typo would be ignored)."""
    env = os.environ if environ is None else environ
    known = known_variables()
    unknown = sorted(
        n for n in env if n.upper().startswith("LAKEHOUSE_") and n.upper() not in known
    )
    if unknown:
        hints = [_hint(n, known) for n in unknown]
        raise InvalidInput("unknown setting(s): " + "; ".join(hints), field="environment")


def _hint(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name.upper(), sorted(known), n=1, cutoff=0.6)
    return f"{name} (did you mean {close[0]}?)" if close else name


def _section(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=True)
    return dict(value or {})


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def is_loopback(host: str) -> bool:
    """True when ``host`` names only this machine (``localhost`` or a loopback address)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
