// Camera scanning for the handheld page.
//
// The browser's own BarcodeDetector where it has one (Chrome on Android), otherwise
// zxing-wasm (zxing-cpp compiled to WebAssembly, vendored in /static/vendor/zxing-wasm
// with its .wasm: nothing is fetched from a CDN). Frames are read a few times a second
// from the <video>; a code is reported once, then not again until another code has
// been seen or `repeatMs` has passed, so a label held in view is one scan.
//
// Codes are reported as a scanner with AIM identifiers would send them: zxing gives
// the symbology identifier (]E0 EAN-13, ]C1 GS1-128 …) and the text with GS for FNC1;
// for BarcodeDetector the identifier is made from the format where it is certain. The
// server's decoder reads them like any other scan.

const ZXING = "/static/vendor/zxing-wasm/reader/index.js";
const ZXING_WASM = "/static/vendor/zxing-wasm/zxing_reader.wasm";
const FORMATS = ["EAN-13", "EAN-8", "UPC-A", "UPC-E", "Code128", "ITF", "DataMatrix", "QRCode"];
const DETECTOR_FORMATS = [
  "ean_13", "ean_8", "upc_a", "upc_e", "code_128", "itf", "data_matrix", "qr_code",
];
const DETECTOR_AIM = { ean_13: "]E0", ean_8: "]E4", upc_a: "]E0", upc_e: "]E0" };

async function zxingReader() {
  const zxing = await import(ZXING);
  zxing.prepareZXingModule({
    overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? ZXING_WASM : prefix + path) },
  });
  return {
    name: "zxing",
    async read(canvas, ctx) {
      const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const found = await zxing.readBarcodes(image, {
        formats: FORMATS,
        tryHarder: true,
        maxNumberOfSymbols: 1,
        textMode: "Plain",
      });
      const hit = found.find((r) => r.isValid && r.text);
      return hit ? (hit.symbologyIdentifier || "") + hit.text : null;
    },
  };
}

async function detectorReader() {
  if (!("BarcodeDetector" in globalThis)) return null;
  const supported = await globalThis.BarcodeDetector.getSupportedFormats();
  const formats = DETECTOR_FORMATS.filter((f) => supported.includes(f));
  if (!formats.includes("ean_13")) return null;
  const detector = new globalThis.BarcodeDetector({ formats });
  return {
    name: "barcode-detector",
    async read(canvas) {
      const found = await detector.detect(canvas);
      const hit = found.find((r) => r.rawValue);
      if (!hit) return null;
      const aim = DETECTOR_AIM[hit.format] || "";
      // UPC-A comes as 12 digits: as EAN-13 it is the same GTIN with a leading 0
      const text = hit.format === "upc_a" && hit.rawValue.length === 12 ? "0" + hit.rawValue : hit.rawValue;
      return aim && /^\d+$/.test(text) ? aim + text : text;
    },
  };
}

export class Camera {
  constructor({ video, onCode, onState, everyMs = 150, repeatMs = 2500 }) {
    this.video = video;
    this.onCode = onCode;
    this.onState = onState || (() => {});
    this.everyMs = everyMs;
    this.repeatMs = repeatMs;
    this.stream = null;
    this.reader = null;
    this.timer = null;
    this.last = { code: null, at: 0 };
    this.canvas = document.createElement("canvas");
    this.ctx = this.canvas.getContext("2d", { willReadFrequently: true });
  }

  get on() {
    return this.stream !== null;
  }

  async start() {
    this.onState("starting");
    try {
      this.reader = this.reader || (await detectorReader()) || (await zxingReader());
      this.stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
        audio: false,
      });
      this.video.srcObject = this.stream;
      await this.video.play();
    } catch (err) {
      this.stop();
      this.onState("error", String(err && err.message ? err.message : err));
      return;
    }
    this.onState("on", this.reader.name);
    this.schedule();
  }

  stop() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
    this.onState("off");
  }

  schedule() {
    this.timer = setTimeout(() => this.frame(), this.everyMs);
  }

  async frame() {
    this.timer = null;
    if (!this.stream) return;
    const video = this.video;
    if (video.videoWidth && video.videoHeight) {
      this.canvas.width = video.videoWidth;
      this.canvas.height = video.videoHeight;
      this.ctx.drawImage(video, 0, 0);
      let code = null;
      try {
        code = await this.reader.read(this.canvas, this.ctx);
      } catch (err) {
        console.warn("camera:", err);
      }
      const now = performance.now();
      if (code && (code !== this.last.code || now - this.last.at > this.repeatMs)) {
        this.onCode(code);
      }
      if (code) this.last = { code, at: now };
    }
    if (this.stream) this.schedule();
  }
}
