// Shared by the video reports and the batch index: table sorting and filtering, seeking the video,
// unpacking the embedded plotly.js (gzip, base64) with the browser's DecompressionStream.
"use strict";

function setupTable(table, filterInput, countEl) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  table.querySelectorAll("th").forEach((th, col) => {
    th.addEventListener("click", () => {
      const asc = !th.classList.contains("sorted-asc");
      table.querySelectorAll("th").forEach(h => h.classList.remove("sorted-asc", "sorted-desc"));
      th.classList.add(asc ? "sorted-asc" : "sorted-desc");
      const numeric = th.dataset.type === "num";
      const key = r => {
        const c = r.cells[col];
        const v = c ? (c.dataset.sort !== undefined ? c.dataset.sort : c.textContent.trim()) : "";
        return numeric ? (v === "" ? -Infinity : parseFloat(v)) : v.toLowerCase();
      };
      const sorted = rows.slice().sort((a, b) => {
        const x = key(a), y = key(b);
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      sorted.forEach(r => body.appendChild(r));
    });
  });
  const update = () => {
    const terms = filterInput.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    rows.forEach(r => {
      const text = r.textContent.toLowerCase();
      const ok = terms.every(t => text.includes(t));
      r.style.display = ok ? "" : "none";
      shown += ok ? 1 : 0;
    });
    if (countEl) countEl.textContent = shown + " of " + rows.length + " rows";
  };
  filterInput.addEventListener("input", update);
  update();
}

function seek(t) {
  const v = document.getElementById("player");
  if (!v) return;
  v.currentTime = Math.max(0, t);
  const p = v.play();
  if (p && p.catch) p.catch(() => {});
}

async function loadPlotly() {
  if (window.Plotly) return;
  if (typeof DecompressionStream === "undefined") {
    throw new Error("this browser cannot unpack the plots (needs Chrome 80+, Firefox 113+ or Safari 16.4+)");
  }
  const b64 = document.getElementById("plotly-gz").textContent.trim();
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  const code = await new Response(stream).text();
  const s = document.createElement("script");
  s.textContent = code;
  document.head.appendChild(s);
}
