import pytest
from pydantic import ValidationError

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
