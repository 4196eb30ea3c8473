"""/console in headless Chromium (Debian's package, driven by Playwright) over real HTTP.

The app runs under uvicorn in a thread with in-process services, the real embedder and a
small roster. ``LAKEHOUSE_CONSOLE_SCREENSHOTS=docs/console`` saves a PNG of each view.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

from lakehouse.embed import EmbedConfig
from lakehouse.embed.lazy import LazyEmbedder
from lakehouse.settings import Settings
from lakehouse.staffing import generate_batches, write_csv
from tests.api.conftest import make_client
from tests.api.live import serve_live
from tests.api.test_matrix_routes import add

ROWS = 80
TOKEN = "console-test-token"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = os.environ.get("LAKEHOUSE_CONSOLE_SCREENSHOTS")
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("needs Debian's chromium (apt-get install -y chromium)", allow_module_level=True)


def seed(client, root: Path, rows) -> str:
    """The roster, two corpora, one trace with two versions; returns the trace uid."""
    csv = root / "workers.csv"
    write_csv(csv, ROWS)
    resp = client.post("/v1/ingest", params={"name": "workers"},
                       files={"file": ("w.csv", csv.read_bytes())})  # fmt: skip
    assert resp.status_code == 201, resp.text
    for name in ("workers", "notes"):
        assert (
            client.post("/v1/vectors/corpora", json={"name": name, "dim": 384}).status_code == 201
        )
    add(client, "workers", rows)
    add(client, "notes", rows[:20])
    trace = client.post(
        "/v1/pathway/traces", json={"content": {"fill": "W1", "shift": "day"}, "tags": ["a"]}
    )
    uid = trace.json()["uid"]
    changed = {"content": {"fill": "W1", "shift": "night"}, "tags": ["a", "b"]}
    assert client.put(f"/v1/pathway/traces/{uid}", json=changed).status_code == 200
    return uid


@pytest.fixture(scope="module")
def site(tmp_path_factory, model_cache):
    root = tmp_path_factory.mktemp("console")
    client, services = make_client(Settings(data_dir=root / "data", sql_timeout_s=10.0))
    services.embedder = LazyEmbedder(EmbedConfig(cache_dir=model_cache))
    rows = [r for b in generate_batches(ROWS) for r in b.to_pylist()]
    with client:
        uid = seed(client, root, rows)
    with serve_live(client.app) as url:
        yield url, uid


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.goto(f"{site[0]}/console")
    yield opened
    context.close()
    assert errors == []  # no script error on any view


def tab(page, name: str) -> None:
    page.click(f"#tabs button[data-view={name}]")
    page.wait_for_selector(f"#view-{name}:not([hidden])")


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def cells(page, selector: str, column: int) -> list[str]:
    return page.locator(f"{selector} tbody tr td:nth-child({column})").all_inner_texts()


def test_every_view_loads(page):
    page.wait_for_selector("#datasets tbody tr")
    assert cells(page, "#datasets", 1) == ["workers"]
    tab(page, "corpora")
    page.wait_for_selector("#corpora tbody tr")
    assert set(cells(page, "#corpora", 1)) == {"workers", "notes"}
    tab(page, "matrix")
    page.wait_for_selector("#matrix-corpora input[type=checkbox]")
    assert page.locator("#matrix-corpora input[type=checkbox]:checked").count() == 2
    tab(page, "playbook")
    page.wait_for_selector("#playbook thead th")
    tab(page, "pathway")
    page.click("#pathway-recent")
    page.wait_for_selector("#pathway-recent-list tbody tr")
    tab(page, "observer")
    page.click("#observer-form button")
    page.wait_for_selector("#observer tbody tr")


def test_sql_runner_shows_the_schema_and_rows_and_a_refusal(page):
    page.click("#datasets tbody tr button")
    page.wait_for_selector("#schema tbody tr")
    assert "worker_id" in cells(page, "#schema", 1)
    page.fill("#sql", "SELECT shift, count(*) AS n FROM workers GROUP BY shift ORDER BY shift")
    page.click("#sql-form button")
    page.wait_for_selector("#sql-result tbody tr")
    assert sum(int(n) for n in cells(page, "#sql-result", 2)) == ROWS
    assert page.inner_text("#sql-status").endswith("rows")
    shot(page, "datasets-sql")
    page.fill("#sql", "DROP TABLE workers")
    page.click("#sql-form button")
    page.wait_for_selector("#sql-status.error")
    assert "query_rejected" in page.inner_text("#sql-status")
    assert len(cells(page, "#sql-result", 1)) > 0  # the last good result stays


def test_corpus_search_shows_hits(page):
    tab(page, "corpora")
    page.wait_for_selector("#search-corpus option", state="attached")
    page.select_option("#search-corpus", "workers")
    page.fill("#search-text", "registered nurse in a hospital")
    page.fill("#search-k", "5")
    page.click("#search-form button")
    page.wait_for_selector("#search-result tbody tr")
    assert len(cells(page, "#search-result", 1)) == 5
    shot(page, "corpora-search")


def test_an_outcome_recorded_in_the_page_changes_the_next_matrix_answer(page, site):
    tab(page, "matrix")
    page.wait_for_selector("#matrix-corpora input[type=checkbox]")
    page.fill("#matrix-query", "forklift operator for a night shift warehouse")
    page.fill("#matrix-k", "8")
    page.click("#matrix-form button[type=submit]")
    page.wait_for_selector("#matrix-result tbody tr")
    before = cells(page, "#matrix-result", 2)
    assert "raw" in cells(page, "#matrix-result", 4)[0]
    target = before[-1]
    page.click(f'#matrix-result button.success[data-id="{target}"]')
    page.wait_for_selector("#matrix-status:has-text('recorded success')")
    after = cells(page, "#matrix-result", 2)
    assert after[0] == target and after != before
    assert float(cells(page, "#matrix-result", 5)[0]) > 0
    shot(page, "matrix")
    tab(page, "playbook")
    page.wait_for_selector("#playbook tbody tr")
    assert target in cells(page, "#playbook", 3)[0]
    shot(page, "playbook")


def test_pathway_history_shows_a_diff_between_versions(page, site):
    tab(page, "pathway")
    page.fill("#pathway-uid", site[1])
    page.click("#pathway-form button[type=submit]")
    page.wait_for_selector("#pathway-history tbody tr")
    assert cells(page, "#pathway-history", 2) == ["2", "1"]
    removed = page.locator("#pathway-diff .del").all_inner_texts()
    added = page.locator("#pathway-diff .add").all_inner_texts()
    assert any('"day"' in line for line in removed) and any('"night"' in line for line in added)
    shot(page, "pathway")


def test_observer_events_for_a_trace_id(page, site):
    trace_id = "console-trace-7"
    resp = httpx.post(f"{site[0]}/v1/observer/events", json={"kind": "app.click", "data": {"x": 1}},
                      headers={"X-Lakehouse-Trace-Id": trace_id})  # fmt: skip
    assert resp.status_code == 201
    tab(page, "observer")
    page.fill("#observer-trace", trace_id)
    page.click("#observer-form button")
    page.wait_for_selector("#observer tbody tr")
    assert "app.click" in cells(page, "#observer", 2)
    assert set(cells(page, "#observer", 3)) == {trace_id}
    shot(page, "observer")


def test_token_prompt_when_auth_is_on_and_the_token_never_in_a_url(browser, tmp_path):
    client, _ = make_client(Settings(data_dir=tmp_path / "data", auth_tokens=TOKEN))
    with serve_live(client.app) as url:
        context = browser.new_context()
        page = context.new_page()
        urls: list[str] = []
        page.on("request", lambda request: urls.append(request.url))
        page.goto(f"{url}/console")
        page.wait_for_selector("#token-form:not([hidden])")
        shot(page, "token-prompt")
        page.fill("#token", TOKEN)
        page.click("#token-form button")
        page.wait_for_selector("#datasets thead th")
        assert page.evaluate("sessionStorage.getItem('lakehouse.token')") == TOKEN
        assert page.locator("#sql-status.error").count() == 0
        context.close()
    assert urls and not any(TOKEN in u for u in urls)


def test_console_assets_are_served_with_a_strict_policy(site):
    resp = httpx.get(f"{site[0]}/console")
    assert (
        resp.status_code == 200 and "script-src 'self'" in resp.headers["content-security-policy"]
    )
    assert (
        httpx.get(f"{site[0]}/console/console.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )
    assert httpx.get(f"{site[0]}/console/..%2Fapi.py").status_code == 404
    assert httpx.get(f"{site[0]}/console/nope.js").status_code == 404
