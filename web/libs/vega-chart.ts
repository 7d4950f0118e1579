// ironstar:needs analytics
// <vega-chart> renders a Vega-Lite spec from its `spec` attribute (JSON)
// with vega-embed, on a canvas, re-rendering when Datastar changes the
// attribute. Vanilla: vega-embed manages its own DOM.
import embed, { type Result } from "vega-embed";

class VegaChart extends HTMLElement {
  static observedAttributes = ["spec"];
  #view: Result | undefined;
  #pending = 0;
  // The chart draws here; data-ignore keeps Datastar out of its DOM.
  #surface = Object.assign(document.createElement("div"), { className: "chart-surface" });

  connectedCallback() {
    this.#surface.setAttribute("data-ignore", "");
    this.replaceChildren(this.#surface);
    void this.#render();
  }

  attributeChangedCallback() {
    void this.#render();
  }

  disconnectedCallback() {
    this.#view?.finalize();
  }

  async #render() {
    const text = this.getAttribute("spec");
    if (!text || !this.isConnected) return;
    const ticket = ++this.#pending;
    const dark = (document.documentElement.dataset.theme ?? (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light")) === "dark";
    // No stylesheets of vega-embed's own (defaultStyle, the tooltip's): they
    // are <style> elements, which the Content-Security-Policy refuses. Without
    // the actions menu they style nothing we use, and no spec here has Vega
    // tooltips.
    const result = await embed(this.#surface, JSON.parse(text), {
      mode: "vega-lite",
      renderer: "canvas",
      actions: false,
      defaultStyle: false,
      tooltip: false,
      theme: dark ? "dark" : undefined,
    });
    if (ticket !== this.#pending) {
      result.finalize(); // a newer spec arrived meanwhile
      return;
    }
    this.#view?.finalize();
    this.#view = result;
  }
}

customElements.define("vega-chart", VegaChart);
