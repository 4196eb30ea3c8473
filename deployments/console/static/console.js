// The console: one page over the HTTP API. Plain ES modules, no build step, no CDN.
import { api, el, fillTable, guarded, setToken, status, token } from "/console/api.js";
import { diffLines, versionText } from "/console/diff.js";

const $ = (id) => document.getElementById(id);
const loaders = {};

function show(view) {
  document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.view === view));
  document.querySelectorAll(".view").forEach((s) => (s.hidden = s.id !== `view-${view}`));
  if (loaders[view]) loaders[view]();
}

// ---- token prompt: shown when a request answers 401 -------------------------------------
document.addEventListener("need-token", () => {
  $("token-form").hidden = false;
  $("token").focus();
});
$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  setToken($("token").value.trim());
  $("token").value = "";
  $("token-form").hidden = true;
  $("signout").hidden = false;
  show(document.querySelector("#tabs button.active").dataset.view);
});
$("signout").addEventListener("click", () => {
  setToken(null);
  $("signout").hidden = true;
});

// ---- datasets and SQL -------------------------------------------------------------------
loaders.datasets = () =>
  guarded("sql-status", async () => {
    const { datasets } = await api("/v1/catalog/datasets");
    fillTable($("datasets"), ["name", "rows", "columns", ""], datasets.map((d) => [d.name, d.row_count, d.columns.length, schemaButton(d)]));
  });

function schemaButton(dataset) {
  const button = el("button", "schema");
  button.addEventListener("click", () => {
    $("schema-title").textContent = `${dataset.name} (${dataset.row_count} rows, fingerprint ${dataset.fingerprint.slice(0, 12)}…)`;
    fillTable($("schema"), ["column", "type"], dataset.columns.map((c) => [c.name, c.type]));
    $("sql").value = `SELECT * FROM ${dataset.name} LIMIT 20`;
  });
  return button;
}

$("sql-form").addEventListener("submit", (e) => {
  e.preventDefault();
  guarded("sql-status", async () => {
    status("sql-status", "running…");
    const result = await api("/v1/sql", { sql: $("sql").value });
    fillTable($("sql-result"), result.columns.map((c) => c.name), result.rows);
    status("sql-status", `${result.row_count} rows${result.truncated ? " (truncated)" : ""}`);
  });
});

// ---- corpora and search -----------------------------------------------------------------
async function corpora() {
  return (await api("/v1/vectors/corpora")).corpora.filter((c) => !c.name.startsWith("_"));
}

loaders.corpora = () =>
  guarded("search-status", async () => {
    const list = await corpora();
    fillTable($("corpora"), ["name", "size", "dim", "space", "shards"], list.map((c) => [c.name, c.size, c.dim, c.space, c.shards]));
    $("search-corpus").replaceChildren(...list.map((c) => el("option", c.name, { value: c.name })));
  });

$("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  guarded("search-status", async () => {
    const name = encodeURIComponent($("search-corpus").value);
    const found = await api(`/v1/vectors/corpora/${name}/search`, { text: $("search-text").value, k: Number($("search-k").value) });
    fillTable($("search-result"), ["id", "score", "metadata"], found.hits.map((h) => [h.id, h.score.toFixed(4), brief(h.metadata)]));
    status("search-status", `${found.hits.length} hits${found.complete ? "" : " (fewer than k qualified)"}`);
  });
});

// ---- matrix search with explanations and outcome buttons --------------------------------
loaders.matrix = () =>
  guarded("matrix-status", async () => {
    const box = $("matrix-corpora");
    const checked = new Set([...box.querySelectorAll("input[type=checkbox]:checked")].map((i) => i.value));
    box.replaceChildren(el("legend", "corpora (weight)"));
    for (const c of await corpora()) {
      const pick = el("input", null, { type: "checkbox", value: c.name });
      pick.checked = checked.size === 0 || checked.has(c.name);
      const weight = el("input", null, { type: "number", step: "0.1", min: "0", value: "1", "data-corpus": c.name, "aria-label": `${c.name} weight` });
      const label = el("label");
      label.append(pick, ` ${c.name} `, weight);
      box.append(label);
    }
  });

function matrixRequest() {
  const picked = [...$("matrix-corpora").querySelectorAll("input[type=checkbox]:checked")];
  const weight = (name) => Number($("matrix-corpora").querySelector(`input[data-corpus="${CSS.escape(name)}"]`).value);
  return {
    query: $("matrix-query").value,
    corpora: picked.map((p) => ({ name: p.value, weight: weight(p.value) })),
    k: Number($("matrix-k").value),
    use_playbook: $("matrix-playbook").checked,
  };
}

async function runMatrix() {
  const request = matrixRequest();
  const answer = await api("/v1/matrix/search", request);
  const rows = answer.hits.map((h, i) => [
    i + 1,
    h.id,
    h.score.toFixed(4),
    explain(h.explanation),
    h.explanation.playbook_boost.toFixed(3),
    brief(h.metadata),
    outcomeButtons(request.query, h.id),
  ]);
  fillTable($("matrix-result"), ["#", "id", "score", "explanation", "playbook boost", "metadata", "outcome"], rows);
  const flags = [answer.cached ? "cached" : "", answer.low_confidence ? "low confidence" : "", answer.partial.length ? `partial: ${answer.partial.join(", ")}` : ""];
  status("matrix-status", `${answer.hits.length} hits ${flags.filter(Boolean).join(", ")}`);
}

// Metadata as "value · value · key=value" (short, one line) rather than raw JSON.
function brief(metadata) {
  if (!metadata) return "";
  return Object.entries(metadata)
    .map(([k, v]) => (typeof v === "string" ? v : `${k}=${v}`))
    .join(" · ");
}

function explain(x) {
  const parts = x.corpora.map((c) => `${c.corpus}: raw ${Number(c.raw_score).toFixed(3)}, rank ${c.rank}`);
  return `${parts.join("; ")} → fused ${Number(x.fusion_score).toFixed(4)}`;
}

function outcomeButtons(query, id) {
  const span = el("span");
  for (const outcome of ["success", "failure"]) {
    const button = el("button", outcome === "success" ? "✓ good" : "✗ bad", { class: `outcome ${outcome}`, "data-id": id });
    button.addEventListener("click", () =>
      guarded("matrix-status", async () => {
        await api("/v1/matrix/playbooks/record", { query, ids: [id], outcome });
        await runMatrix();
        status("matrix-status", `recorded ${outcome} for ${id}; results refreshed`);
      }),
    );
    span.append(button);
  }
  return span;
}

$("matrix-form").addEventListener("submit", (e) => {
  e.preventDefault();
  guarded("matrix-status", runMatrix);
});

// ---- playbook audit ---------------------------------------------------------------------
loaders.playbook = () =>
  guarded("matrix-status", async () => {
    const { records } = await api("/v1/matrix/playbooks?limit=200");
    fillTable($("playbook"), ["when", "query", "ids", "outcome", "weight", "who"], records.map((r) => [r.when, r.query, r.ids.join(", "), r.outcome, r.weight, r.who]));
  });
$("playbook-refresh").addEventListener("click", () => loaders.playbook());

// ---- pathway history and diff -----------------------------------------------------------
let history = [];

$("pathway-form").addEventListener("submit", (e) => {
  e.preventDefault();
  loadHistory($("pathway-uid").value.trim());
});

$("pathway-recent").addEventListener("click", () =>
  guarded("pathway-status", async () => {
    const { hits } = await api("/v1/pathway/search", { k: 20 });
    const open = (uid) => {
      const b = el("button", uid);
      b.addEventListener("click", () => {
        $("pathway-uid").value = uid;
        loadHistory(uid);
      });
      return b;
    };
    fillTable($("pathway-recent-list"), ["uid", "version", "tags", "updated"], hits.map((h) => [open(h.trace.uid), h.trace.version, h.trace.tags.join(", "), when(h.trace.updated_at)]));
  }),
);

function loadHistory(uid) {
  guarded("pathway-status", async () => {
    const found = await api(`/v1/pathway/traces/${encodeURIComponent(uid)}/history`);
    history = found.entries;
    fillTable($("pathway-history"), ["uid", "version", "tags", "retired", "updated", "content"], history.map((t) => [t.uid, t.version, t.tags.join(", "), t.retired, when(t.updated_at), t.content]));
    const options = () => history.map((t, i) => el("option", `${t.uid.slice(0, 8)} v${t.version}`, { value: String(i) }));
    $("diff-a").replaceChildren(...options());
    $("diff-b").replaceChildren(...options());
    $("diff-a").value = String(Math.min(1, history.length - 1));
    $("diff-b").value = "0";
    $("diff-controls").hidden = history.length < 2;
    showDiff();
    status("pathway-status", `${history.length} versions${found.complete ? "" : " (history incomplete)"}`);
  });
}

function showDiff() {
  const out = $("pathway-diff");
  out.replaceChildren();
  if (history.length < 2) return;
  const a = history[Number($("diff-a").value)];
  const b = history[Number($("diff-b").value)];
  for (const { op, line } of diffLines(versionText(a), versionText(b))) {
    out.append(el("span", `${op} ${line}\n`, { class: op === "+" ? "add" : op === "-" ? "del" : "same" }));
  }
}
$("diff-a").addEventListener("change", showDiff);
$("diff-b").addEventListener("change", showDiff);

// ---- observer events --------------------------------------------------------------------
$("observer-form").addEventListener("submit", (e) => {
  e.preventDefault();
  guarded("observer-status", async () => {
    const params = new URLSearchParams({ limit: "200" });
    if ($("observer-trace").value.trim()) params.set("trace_id", $("observer-trace").value.trim());
    if ($("observer-kind").value.trim()) params.set("kind", $("observer-kind").value.trim());
    const { events } = await api(`/v1/observer/events?${params}`);
    fillTable($("observer"), ["ts", "kind", "trace id", "data"], events.map((ev) => [when(ev.ts), ev.kind, ev.trace_id, ev.data]));
    status("observer-status", `${events.length} events`);
  });
});

function when(seconds) {
  return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19);
}

// ---- start ------------------------------------------------------------------------------
document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => show(b.dataset.view)));
$("signout").hidden = !token();
show("datasets");
