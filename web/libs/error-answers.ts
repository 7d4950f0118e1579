// Datastar 1.0 reads the body of a 200 answer only. Ironstar answers a
// command it refuses with the status that says why (400, 403, 404, 422,
// 429, 503, 507…) and a body that patches the feature's alert with the
// reason: an HTML fragment, or an event stream. This hands such a body to
// Datastar as if it had read it: the same `datastar-fetch` events its own
// reader dispatches for a 200, which its element and signal watchers
// apply. Only answers to Datastar's own requests (the Datastar-Request
// header) are touched; the status stays what it is.
const ownFetch = window.fetch.bind(window);

window.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
  const response = await ownFetch(input, init);
  if (response.status < 400 || new Headers(init?.headers).get("Datastar-Request") !== "true") {
    return response;
  }
  const type = response.headers.get("Content-Type") ?? "";
  if (type.includes("text/event-stream")) {
    for (const { type, data } of events(await response.clone().text())) {
      dispatch(type, argsOf(data));
    }
  } else if (type.includes("text/html")) {
    dispatch("datastar-patch-elements", { elements: await response.clone().text() });
  }
  return response;
};

// events reads an event stream as the SSE standard does: lines end at
// CR LF, LF or a lone CR; an empty line ends an event.
function* events(stream: string): Generator<{ type: string; data: string[] }> {
  let type = "";
  let data: string[] = [];
  for (const line of stream.split(/\r\n|\r|\n/)) {
    if (line === "") {
      if (data.length > 0) yield { type, data };
      type = "";
      data = [];
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") type = value;
    if (field === "data") data.push(value);
  }
}

// argsOf reads an event's data lines as Datastar's fetch action does:
// each is "<argument> <value>", and an argument's lines join with LF.
function argsOf(data: string[]): Record<string, string> {
  const lines: Record<string, string[]> = {};
  for (const line of data) {
    const space = line.indexOf(" ");
    (lines[line.slice(0, space)] ||= []).push(line.slice(space + 1));
  }
  return Object.fromEntries(Object.entries(lines).map(([k, v]) => [k, v.join("\n")]));
}

// dispatch hands Datastar's watchers one event, as its fetch action does.
function dispatch(type: string, argsRaw: Record<string, string>) {
  if (!type.startsWith("datastar")) return;
  document.dispatchEvent(new CustomEvent("datastar-fetch", { detail: { type, el: document.body, argsRaw } }));
}

export {};
