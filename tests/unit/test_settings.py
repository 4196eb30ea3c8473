import pytest
from pydantic import ValidationError

from lakehouse.errors import InvalidInput
from lakehouse.settings import Settings, is_loopback


def test_env_prefix_and_token_list(monkeypatch, tmp_path):
    monkeypatch.setenv("LAKEHOUSE_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("LAKEHOUSE_AUTH_TOKENS", "alpha, beta ,")
    monkeypatch.setenv("LAKEHOUSE_SQL_MAX_ROWS", "7")
    s = Settings()
    assert s.data_dir == tmp_path / "d"
    assert s.tokens == ["alpha", "beta"]
    assert s.sql_max_rows == 7
    assert s.objects_dir == (tmp_path / "d").resolve() / "objects"


def test_toml_file_is_read_and_env_wins(monkeypatch, tmp_path):
    config = tmp_path / "lakehouse.toml"
    config.write_text('sql_max_rows = 11\nport = 9000\nstore_backend = "s3"\n')
    monkeypatch.setenv("LAKEHOUSE_CONFIG_FILE", str(config))
    monkeypatch.setenv("LAKEHOUSE_PORT", "9100")
    s = Settings()
    assert s.sql_max_rows == 11
    assert s.store_backend == "s3"
    assert s.port == 9100


def test_bad_values_are_refused(monkeypatch):
    with pytest.raises(ValidationError):
        Settings(allow_cidrs="10.0.0.0/8,not-a-network")
    with pytest.raises(ValidationError):
        Settings(sql_max_rows=0)
    with pytest.raises(ValidationError):
        Settings(store_backend="ftp")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_matrix_and_playbook_knobs_reach_the_matrix_config(monkeypatch):
    from lakehouse.matrix import MatrixConfig

    monkeypatch.setenv("LAKEHOUSE_MATRIX_CACHE_ENTRIES", "0")
    monkeypatch.setenv("LAKEHOUSE_PLAYBOOK_SIMILARITY_THRESHOLD", "0.8")
    monkeypatch.setenv("LAKEHOUSE_PLAYBOOK_HALF_LIFE_DAYS", "7")
    config = MatrixConfig.from_settings(Settings())
    assert config.cache_entries == 0 and config.cache_ttl_s == 60.0
    assert config.low_confidence_below == 0.41
    assert config.playbook.similarity_threshold == 0.8
    assert config.playbook.half_life_days == 7 and config.playbook.corpus == "_playbook"
    assert MatrixConfig.from_settings(Settings(matrix_cache_entries=5)).cache_entries == 5
    for bad in ({"playbook_strength": -1}, {"playbook_half_life_days": 0},
                {"matrix_low_confidence_below": 2}):  # fmt: skip
        with pytest.raises(ValidationError):
            Settings(**bad)


def test_sections_from_toml_args_and_env(monkeypatch, tmp_path):
    config = tmp_path / "lakehouse.toml"
    config.write_text('[embed]\nquantize = "fp32"\n\n[chat]\ntimeout_s = 30\n')
    monkeypatch.setenv("LAKEHOUSE_CONFIG_FILE", str(config))
    monkeypatch.setenv("LAKEHOUSE_EMBED_MAX_LENGTH", "128")
    s = Settings(data_dir=tmp_path / "d", chat={"max_retries": 5})  # the Serve args' shape
    assert (s.embed.quantize, s.embed.max_length) == ("fp32", 128)
    assert (s.chat.timeout_s, s.chat.max_retries) == (30.0, 5)
    assert s.embed.cache_dir == (tmp_path / "d").resolve() / "models"


def test_the_shared_ollama_host_feeds_both_sections(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_OLLAMA_HOST", "http://gpu-1:11434")
    s = Settings()
    assert s.embed.ollama_host == s.chat.ollama_host == "http://gpu-1:11434"
    own = Settings(embed={"ollama_host": "http://gpu-2:11434"})
    assert own.embed.ollama_host == "http://gpu-2:11434"
    assert own.chat.ollama_host == "http://gpu-1:11434"


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("LAKEHOUSE_SQL_TIMEOUT", "LAKEHOUSE_SQL_TIMEOUT_S"),
        ("LAKEHOUSE_EMBED_BATCH", "LAKEHOUSE_EMBED_BATCH_SIZE"),
        ("LAKEHOUSE_NO_SUCH_THING", None),
    ],
)
def test_unknown_variables_are_refused_at_start(monkeypatch, name, hint):
    monkeypatch.setenv(name, "1")
    with pytest.raises(InvalidInput) as caught:
        Settings()
    assert name in str(caught.value)
    if hint:
        assert f"did you mean {hint}?" in str(caught.value)


def test_unknown_keys_in_args_sections_and_toml_are_refused(monkeypatch, tmp_path):
    with pytest.raises(ValidationError, match="sql_timeout"):
        Settings(sql_timeout=3)
    with pytest.raises(ValidationError, match="bogus"):
        Settings(embed={"bogus": 1})
    config = tmp_path / "lakehouse.toml"
    config.write_text("[chat]\ntimeout = 3\n")
    monkeypatch.setenv("LAKEHOUSE_CONFIG_FILE", str(config))
    with pytest.raises(ValidationError, match="timeout"):
        Settings()
