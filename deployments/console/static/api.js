// The HTTP side of the console: the bearer token (this tab only) and JSON requests.
const TOKEN_KEY = "lakehouse.token";

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? `${status} ${body.error}: ${body.message}` : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// GET when body is undefined, else POST it as JSON. The token goes in a header only.
export async function api(path, body) {
  const headers = { Accept: "application/json" };
  const held = token();
  if (held) headers.Authorization = `Bearer ${held}`;
  const init = { method: body === undefined ? "GET" : "POST", headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  document.getElementById("trace").textContent =
    `last request: ${init.method} ${path} → ${resp.status}, trace ${resp.headers.get("x-lakehouse-trace-id") || "-"}`;
  const data = await resp.json().catch(() => null);
  if (resp.status === 401) document.dispatchEvent(new CustomEvent("need-token"));
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

// Build an element; text is set with textContent so data never becomes markup.
export function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

// Fill a <table> from column names and rows; a cell may be a string or a DOM node.
export function fillTable(table, columns, rows) {
  table.replaceChildren();
  const head = el("tr");
  columns.forEach((c) => head.append(el("th", c)));
  table.append(el("thead"));
  table.tHead.append(head);
  const body = el("tbody");
  for (const row of rows) {
    const tr = el("tr");
    for (const cell of row) {
      const td = el("td");
      if (cell instanceof Node) td.append(cell);
      else td.textContent = cell === null || cell === undefined ? "" : typeof cell === "object" ? JSON.stringify(cell) : String(cell);
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(body);
}

export function status(id, text, isError = false) {
  const node = document.getElementById(id);
  node.textContent = text;
  node.classList.toggle("error", isError);
}

// Run an async action, reporting its failure on the status line instead of throwing.
export async function guarded(statusId, action) {
  status(statusId, "");
  try {
    await action();
  } catch (err) {
    status(statusId, err.message, true);
  }
}
