// ironstar:needs reverse
// <reverse-text> shows how a custom element and Datastar signals talk both
// ways. Datastar sets its `text` attribute from a signal (data-attr:text);
// it renders the text reversed and announces the result with a `reversed`
// event, which the page turns back into a signal (data-on:reversed). Its
// button asks the page to adopt the reversed text with an `adopt` event.
class ReverseText extends HTMLElement {
  static observedAttributes = ["text"];

  #output = document.createElement("output");
  #button = document.createElement("button");

  connectedCallback() {
    this.#output.className = "reverse-output";
    this.#button.type = "button";
    this.#button.className = "secondary";
    this.#button.textContent = "Use the reversed text";
    this.#button.addEventListener("click", () => {
      this.dispatchEvent(new CustomEvent("adopt", { detail: { value: this.reversed }, bubbles: true }));
    });
    this.replaceChildren(this.#output, this.#button);
    this.#render();
  }

  attributeChangedCallback() {
    this.#render();
  }

  get reversed(): string {
    // By grapheme, so that emoji and accents survive the trip.
    const segments = new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(this.getAttribute("text") ?? "");
    return Array.from(segments, (s) => s.segment).reverse().join("");
  }

  #render() {
    if (!this.isConnected) return;
    const value = this.reversed;
    this.#output.textContent = value;
    // After the current task: Datastar may set the attribute (data-attr)
    // before it has attached the element's own listeners (data-on), and
    // the first announcement must reach them.
    queueMicrotask(() => this.dispatchEvent(new CustomEvent("reversed", { detail: { value }, bubbles: true })));
  }
}

customElements.define("reverse-text", ReverseText);
