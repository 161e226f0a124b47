// Custom elements for other pages: one module script tag makes <infoplane-view> (the analyser,
// showing results only) and <infoplane-explainer> (the teaching page) available.
//
//   <script type="module" src="infoplane/www/infoplane-elements.js"></script>
//   <infoplane-view src="runs/step1000.npz" orders="1,2" view="plane"></infoplane-view>
//   <infoplane-explainer d="3" m="20" classes="3"></infoplane-explainer>
//
// Each element holds an <iframe> of this copy of infoplane (index.html or explainer.html with
// ?embed), so its styles and scripts never touch the host page. Attributes become the page's URL
// settings (see README.md: bins, seed, orders, layers, shuffles, seeds, view, ...; the explainer's
// d, m, n, classes, kappa, eps, ...); `src` is resolved against the host page and may be repeated
// as a space-separated list. `height` sets the frame's height in px.
//
// <infoplane-view> API:
//   element.analyze(files)   analyse File objects (an array or a FileList), as if dropped
//   "ready"                  event: the page inside has loaded
//   "progress"               event, detail {fraction, left}: fraction done, seconds left or null
//   "result"                 event, detail {reports, errors}: infoplane's JSON report per dataset
//                            (the CLI's schema) and the one-line messages of refused files

const pages = {
  view: new URL("../index.html", import.meta.url),
  explainer: new URL("../explainer.html", import.meta.url),
};

class InfoplaneFrame extends HTMLElement {
  constructor(page, defaultHeight) {
    super();
    this.page = page;
    this.defaultHeight = defaultHeight;
    this.frame = null;
    this.onMessage = (e) => {
      if (!this.frame || e.source !== this.frame.contentWindow || !e.data || typeof e.data.type !== "string") return;
      const name = e.data.type.replace(/^infoplane-/, "");
      if (!["ready", "progress", "result"].includes(name)) return;
      const { type, ...detail } = e.data;
      this.dispatchEvent(new CustomEvent(name, { detail }));
    };
  }

  connectedCallback() {
    if (!this.frame) {
      this.frame = document.createElement("iframe");
      this.frame.style.cssText = "width: 100%; border: 0; display: block;";
      this.frame.title = this.getAttribute("title") || "infoplane";
      this.attachShadow({ mode: "open" }).append(this.frame);
    }
    window.addEventListener("message", this.onMessage);
    this.load();
  }

  disconnectedCallback() {
    window.removeEventListener("message", this.onMessage);
  }

  attributeChangedCallback() {
    if (this.frame) this.load();
  }

  // The frame's address: ?embed plus every attribute but the element's own.
  load() {
    const url = new URL(this.page);
    const q = new URLSearchParams();
    for (const { name, value } of this.attributes) {
      if (["title", "height", "style", "class", "id"].includes(name)) continue;
      if (name === "src") {
        for (const s of value.split(/\s+/).filter(Boolean)) q.append("src", new URL(s, document.baseURI).href);
      } else {
        q.set(name, value);
      }
    }
    url.search = q.size ? `embed&${q}` : "embed";
    this.frame.style.height = `${Number(this.getAttribute("height")) || this.defaultHeight}px`;
    if (this.frame.src !== url.href) this.frame.src = url.href;
  }
}

class InfoplaneView extends InfoplaneFrame {
  static observedAttributes = ["src", "orders", "bins", "seed", "calibration", "eps", "layers", "view", "shuffles", "shuffle_seed", "seeds", "min_count", "backoff", "centre", "exclude_first", "exclude_tokens", "height"];
  constructor() {
    super(pages.view, 800);
  }

  /** Analyses `files` (File objects) in the frame, as if they had been dropped on the page. */
  analyze(files) {
    if (!this.frame || !this.frame.contentWindow) throw new Error("infoplane-view: not in a page yet");
    this.frame.contentWindow.postMessage({ type: "infoplane-analyze", files: [...files] }, this.page.origin);
  }
}

class InfoplaneExplainer extends InfoplaneFrame {
  static observedAttributes = ["d", "m", "n", "classes", "kappa", "eps", "seed", "points_seed", "point", "units", "height"];
  constructor() {
    super(pages.explainer, 950);
  }
}

if (!customElements.get("infoplane-view")) customElements.define("infoplane-view", InfoplaneView);
if (!customElements.get("infoplane-explainer")) customElements.define("infoplane-explainer", InfoplaneExplainer);
