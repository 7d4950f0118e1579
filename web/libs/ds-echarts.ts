// ironstar:needs analytics
// <ds-echarts> draws an Apache ECharts chart from its `option` attribute
// (JSON), which Datastar keeps current (data-attr:option). Lit, light DOM.
// Put data-ignore-morph on it (old and new element) so that a patch of the
// page around it never destroys the chart's canvas.
import { LitElement } from "lit";
import * as echarts from "echarts/core";
import { BarChart, LineChart } from "echarts/charts";
import { GridComponent, LegendComponent, TitleComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

// Only what the dashboard draws, so the bundle stays small.
echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TitleComponent, TooltipComponent, CanvasRenderer]);

class DsEcharts extends LitElement {
  static properties = { option: { type: Object } };

  declare option: echarts.EChartsCoreOption | undefined;
  #chart: echarts.ECharts | undefined;
  // The chart draws here; data-ignore keeps Datastar out of its DOM.
  #surface = Object.assign(document.createElement("div"), { className: "chart-surface" });
  #resize = new ResizeObserver(() => this.#chart?.resize());
  #scheme = window.matchMedia("(prefers-color-scheme: dark)");
  #onScheme = () => this.#recreate();

  createRenderRoot() {
    return this;
  }

  connectedCallback() {
    super.connectedCallback();
    this.#surface.setAttribute("data-ignore", "");
    this.replaceChildren(this.#surface);
    this.#resize.observe(this);
    this.#scheme.addEventListener("change", this.#onScheme);
    new MutationObserver(() => this.#recreate()).observe(document.documentElement, { attributeFilter: ["data-theme"] });
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this.#resize.disconnect();
    this.#scheme.removeEventListener("change", this.#onScheme);
    this.#chart?.dispose();
    this.#chart = undefined;
  }

  #dark(): boolean {
    const theme = document.documentElement.dataset.theme;
    return theme ? theme === "dark" : this.#scheme.matches;
  }

  #recreate() {
    this.#chart?.dispose();
    this.#chart = undefined;
    this.updated();
  }

  updated() {
    if (!this.option) return;
    if (!this.#chart) {
      this.#chart = echarts.init(this.#surface, this.#dark() ? "dark" : undefined, { renderer: "canvas" });
    }
    this.#chart.setOption({ backgroundColor: "transparent", ...this.option }, { notMerge: true });
  }
}

customElements.define("ds-echarts", DsEcharts);
