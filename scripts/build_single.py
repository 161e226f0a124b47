#!/usr/bin/env python3
"""Writes dist/infoplane.html: the page as one self-contained file (styles, scripts, the wasm core
and the built-in sample inlined) that works opened from disk (file://) or sent by mail.

Run by scripts/build_web.sh after www/pkg is built. The worker cannot be a separate file (a page
opened from file:// may not start workers from files), and Chromium refuses blob: *module* workers
there too, so its source, the wasm-bindgen bindings followed by www/worker.js with their module
syntax taken out, becomes a classic blob: worker; the wasm is compiled once by the page and handed
to each worker. www/app.js reads all three from globalThis.INFOPLANE_INLINE.
"""

import base64
import json
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "dist", "infoplane.html")
SAMPLE = os.path.join(ROOT, "www", "sample", "minilm_sample.npz")
IMPORT_LINE = 'import init, { combine_layers, trajectory_chart, warm_up, DatasetRun, ModelRun } from "./pkg/infoplane.js";'


def read(rel, mode="r"):
    with open(os.path.join(ROOT, rel), mode) as f:
        return f.read()


def replace_once(text, old, new, what):
    if text.count(old) != 1:
        sys.exit(f"build_single: expected exactly one {what} in the source, found {text.count(old)}")
    return text.replace(old, new)


def script_safe(js):
    """JS text that cannot end the <script> element it sits in."""
    return js.replace("</script", "<\\/script").replace("<!--", "<\\!--")


def main():
    html = read("index.html")
    bindings = read("www/pkg/infoplane.js")
    if "async function __wbg_init(" not in bindings:
        sys.exit("build_single: the wasm-bindgen bindings no longer define __wbg_init")
    # Module syntax out, for a classic worker: `export` keywords, the export list, and the one
    # import.meta.url (the default wasm location, unused: the page passes the compiled module).
    classic = re.sub(r"^export (function|class|const|let) ", r"\1 ", bindings, flags=re.M)
    classic = replace_once(classic, "export { initSync, __wbg_init as default };", "", "export list")
    classic = replace_once(classic, "import.meta.url", "self.location.href", "import.meta.url")
    if re.search(r"^\s*(export|import)\b", classic, flags=re.M):
        sys.exit("build_single: the bindings have module syntax this script does not remove")
    worker = replace_once(read("www/worker.js"), IMPORT_LINE, "const init = __wbg_init;", "worker import")
    # The meaning page, opened as a blob by app.js: its stylesheet inlined, and no link back (a
    # blob page has no address to go back to; it opens in a tab of its own).
    meaning = replace_once(read("www/meaning.html"), '<link rel="stylesheet" href="style.css">',
                           "<style>\n" + read("www/style.css") + "</style>", "meaning stylesheet")
    meaning = re.sub(r'<p class="back">.*?</p>\s*', "", meaning, count=1, flags=re.S)
    if re.search(r'(src|href)="(?!#|data:)', meaning):
        sys.exit("build_single: www/meaning.html refers to another file")
    inline = {
        "worker": classic + "\n" + worker,
        "meaning": meaning,
        "wasm": base64.b64encode(read("www/pkg/infoplane_simd_bg.wasm", "rb")).decode("ascii"),
        "sample": base64.b64encode(read(os.path.relpath(SAMPLE, ROOT), "rb")).decode("ascii"),
    }
    # www/wasm.js (which wasm build to load) goes inline in place of its import.
    wasm_js = re.sub(r"^export (function|const) ", r"\1 ", read("www/wasm.js"), flags=re.M)
    app = replace_once(read("www/app.js"), 'import { simdSupported, wasmBuild, wasmUrl } from "./wasm.js";',
                       wasm_js, "wasm.js import")
    if re.search(r"^\s*(export|import)\b", app, flags=re.M):
        sys.exit("build_single: www/app.js has module syntax this script does not inline")
    if "</script" in app.lower():
        sys.exit("build_single: www/app.js contains </script")
    # The explainer is a page of its own (explainer.html), not part of the single file: no link to it.
    html, links = re.subn(r'\s*<p class="explainer-link">.*?</p>', "", html, count=1, flags=re.S)
    if links != 1:
        sys.exit("build_single: index.html has no explainer link to take out")
    html = replace_once(html, '<link rel="stylesheet" href="www/style.css">',
                        "<style>\n" + read("www/style.css") + "</style>", "stylesheet link")
    html = replace_once(
        html, '<script type="module" src="www/app.js"></script>',
        "<script>globalThis.INFOPLANE_INLINE = " + script_safe(json.dumps(inline)) + ";</script>\n"
        + '<script type="module">\n' + app + "</script>", "app script")
    if 'src="www/' in html or 'href="www/' in html:
        sys.exit("build_single: index.html refers to another file under www/")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(html)
    print(f"built dist/infoplane.html ({os.path.getsize(OUT) // 1024} KiB, works from file://)")


if __name__ == "__main__":
    main()
