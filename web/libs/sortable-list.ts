// ironstar:needs sortable
// <sortable-list> is a Lit element in light DOM (so the design tokens and
// page styles apply) that lets the user drag items into a new order.
//
// The server owns the order: it renders the items as the `items` attribute
// (the $board signal as JSON) and patches it when the order changes
// anywhere. A drop reorders the list at once, then announces the new order
// with a `reorder` event ({order: [ids]}) for the page to put in $order and
// send as a command. Both shapes are the page's signals as Go declares
// them (signals.gen.ts). Each item also has up/down buttons, for keyboards.
import { LitElement, html } from "lit";
import { unsafeSVG } from "lit/directives/unsafe-svg.js";
import grip from "lucide-static/icons/grip-vertical.svg";
import type { SortableItem as Item, SortableSignals } from "./signals.gen";

// ReorderDetail is the reorder event's detail: the $order signal.
export type ReorderDetail = Required<Pick<SortableSignals, "order">>;

class SortableList extends LitElement {
  static properties = {
    items: { type: Array },
    dragging: { state: true },
  };

  declare items: Item[];
  declare dragging: string | null;

  constructor() {
    super();
    this.items = [];
    this.dragging = null;
  }

  // Light DOM: no shadow root.
  createRenderRoot() {
    return this;
  }

  render() {
    return html`<ol class="sortable">
      ${this.items.map(
        (item, i) => html`<li
          data-id=${item.id}
          draggable="true"
          class=${this.dragging === item.id ? "dragging" : ""}
          @dragstart=${(e: DragEvent) => this.#dragStart(e, item.id)}
          @dragover=${(e: DragEvent) => e.preventDefault()}
          @drop=${(e: DragEvent) => this.#drop(e, item.id)}
          @dragend=${() => (this.dragging = null)}
        >
          <span class="grip" aria-hidden="true">${unsafeSVG(grip)}</span>
          <span class="label">${item.label}</span>
          <button type="button" class="secondary" aria-label=${"Move " + item.label + " up"} ?disabled=${i === 0} @click=${() => this.#move(i, i - 1)}>↑</button>
          <button type="button" class="secondary" aria-label=${"Move " + item.label + " down"} ?disabled=${i === this.items.length - 1} @click=${() => this.#move(i, i + 1)}>↓</button>
        </li>`,
      )}
    </ol>`;
  }

  #dragStart(e: DragEvent, id: string) {
    this.dragging = id;
    e.dataTransfer?.setData("text/plain", id);
    if (e.dataTransfer) e.dataTransfer.effectAllowed = "move";
  }

  #drop(e: DragEvent, targetId: string) {
    e.preventDefault();
    const from = this.items.findIndex((it) => it.id === this.dragging);
    const to = this.items.findIndex((it) => it.id === targetId);
    this.dragging = null;
    if (from >= 0 && to >= 0) this.#move(from, to);
  }

  #move(from: number, to: number) {
    if (from === to || to < 0 || to >= this.items.length) return;
    const items = [...this.items];
    const [moved] = items.splice(from, 1);
    items.splice(to, 0, moved);
    this.items = items;
    const detail: ReorderDetail = { order: items.map((it) => it.id) };
    this.dispatchEvent(new CustomEvent("reorder", { detail, bubbles: true }));
  }
}

customElements.define("sortable-list", SortableList);
