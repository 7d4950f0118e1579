// <theme-toggle> switches between the system colour scheme, light and dark.
// The choice is a purely local preference, so it lives in localStorage and
// never goes to the server; CSS follows it through `color-scheme`.
import monitor from "lucide-static/icons/monitor.svg";
import moon from "lucide-static/icons/moon.svg";
import sun from "lucide-static/icons/sun.svg";

const storageKey = "ironstar-theme";
const modes = ["system", "light", "dark"] as const;
type Mode = (typeof modes)[number];

const labels: Record<Mode, string> = {
  system: "Theme: system",
  light: "Theme: light",
  dark: "Theme: dark",
};

// Lucide icons, bundled as SVG text by cmd/build.
const glyphs: Record<Mode, string> = { system: monitor, light: sun, dark: moon };

function storedMode(): Mode {
  const value = localStorage.getItem(storageKey);
  return modes.includes(value as Mode) ? (value as Mode) : "system";
}

function applyMode(mode: Mode) {
  const root = document.documentElement;
  if (mode === "system") {
    root.style.removeProperty("color-scheme");
    delete root.dataset.theme;
  } else {
    root.style.colorScheme = mode;
    root.dataset.theme = mode;
  }
}

class ThemeToggle extends HTMLElement {
  #button = document.createElement("button");

  connectedCallback() {
    this.#button.type = "button";
    this.#button.className = "theme-toggle";
    this.#button.addEventListener("click", () => this.#cycle());
    this.replaceChildren(this.#button);
    this.#render(storedMode());
  }

  #cycle() {
    const next = modes[(modes.indexOf(storedMode()) + 1) % modes.length];
    localStorage.setItem(storageKey, next);
    applyMode(next);
    this.#render(next);
  }

  #render(mode: Mode) {
    // The SVG is our own bundled file, not user input.
    this.#button.innerHTML = glyphs[mode].replace("<svg", '<svg aria-hidden="true"');
    this.#button.append(labels[mode]);
    this.#button.setAttribute("aria-label", `${labels[mode]} (click to change)`);
    this.#button.dataset.mode = mode;
  }
}

applyMode(storedMode());
customElements.define("theme-toggle", ThemeToggle);
