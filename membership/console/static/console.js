// The counter page follows the store's card readers: a swipe opens the member, an unknown card
// offers to issue it. EventSource reconnects by itself (and resumes with Last-Event-ID).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const counter = document.querySelector(".counter[data-reads]");
  if (!counter) return;
  const labels = document.getElementById("read-labels").dataset;
  const list = document.getElementById("reads");
  const state = document.getElementById("reader-state");
  const store = counter.dataset.store;
  const source = new EventSource(counter.dataset.reads);

  source.addEventListener("open", () => { state.textContent = labels.live; state.dataset.state = "live"; });
  source.addEventListener("error", () => { state.textContent = labels.offline; state.dataset.state = "offline"; });
  source.addEventListener("read", (event) => {
    const read = JSON.parse(event.data);
    const item = document.createElement("li");
    item.className = "read read-" + read.outcome;
    const time = new Date(read.occurred_at).toLocaleTimeString();
    const who = read.outcome === "member" ? `${read.member_name || ""} ${read.member_no}` :
      read.outcome === "unknown" ? `${labels.unknown} ${read.value ?? read.hint}` :
      read.outcome === "refused" ? `${labels.refused} ${read.message}` : `${labels.fault} (${read.message})`;
    item.textContent = `${time} ${read.station} · ${who}`;
    list.prepend(item);
    while (list.children.length > 20) list.lastChild.remove();
    if (read.outcome === "member") {
      htmx.ajax("GET", `/console/counter/members/${read.member_id}?store=${store}`, "#member");
    } else if (read.outcome === "unknown" && read.value !== null) {  // a secret kind's value never comes
      const query = new URLSearchParams({ value: read.value, kind: read.kind, store });
      htmx.ajax("GET", `/console/counter/unknown?${query}`, "#member");
    }
  });
});
