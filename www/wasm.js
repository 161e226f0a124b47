// Which build of the wasm core a page loads (scripts/build_web.sh makes both from one source,
// with one set of bindings): `simd`, compiled with the simd128 instructions, wherever the browser
// validates one (every current browser: Chromium 91+, Firefox 89+, Safari 16.4+), otherwise
// `plain`. Both give the same bits (the score kernel's order of operations is fixed); a page's
// `?wasm=plain` or `?wasm=simd` forces one, so a test can compare them.

// A module whose one function returns a v128 (i32.const 0, i8x16.splat, i8x16.popcnt): it
// validates only where simd128 is supported (the probe wasm-feature-detect uses).
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

export function simdSupported() {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

// The build to load for a page with address query `search`.
export function wasmBuild(search = "") {
  const forced = new URLSearchParams(search).get("wasm");
  if (forced === "plain" || forced === "simd") return forced;
  return simdSupported() ? "simd" : "plain";
}

// Where that build's .wasm file is, beside the bindings.
export function wasmUrl(build) {
  return new URL(build === "simd" ? "./pkg/infoplane_simd_bg.wasm" : "./pkg/infoplane_bg.wasm", import.meta.url);
}
