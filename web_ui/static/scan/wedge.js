// Keyboard-wedge capture for the handheld page: a scanner that "types" its scans.
//
// A wedge scanner (Zebra DataWedge keystroke output, Honeywell's keyboard wedge, a USB
// or Bluetooth HID scanner) sends each scan as a burst of key presses ending in Enter
// or Tab. A person types the same keys far more slowly. Wedge tells them apart by
// timing alone: a burst is at least `minLength` characters, each within `maxGapMs` of
// the one before, and the Enter or Tab within `endGapMs` of the last. Anything slower
// is left alone, so typing into a field works as usual (the manual entry's Enter
// submits it).
//
// Keys are taken wherever the focus is (window, capture phase). Inside a text field a
// burst's characters are kept out of it once the burst is recognised (from its second
// character on) and its first one is taken back at the end, so a scan never leaves
// its code in the field. GS1's separator arrives as the GS character (ASCII 29) or as
// Ctrl+] (how many keyboard wedges type it); both become "\x1d". A device set to send
// another separator (| or ~) sends that character, and the server reads it as FNC1.
//
//   const wedge = new Wedge({ onScan(code) { ... } });
//   window.addEventListener("keydown", (e) => wedge.keydown(e), true);

export const GS = "\x1d";

export class Wedge {
  constructor({ onScan, maxGapMs = 60, endGapMs = 120, minLength = 3 } = {}) {
    this.onScan = onScan;
    this.maxGapMs = maxGapMs;
    this.endGapMs = endGapMs;
    this.minLength = minLength;
    this.reset();
  }

  reset() {
    this.chars = [];
    this.lastAt = -Infinity;
    this.field = null; // a text field the burst started in, and its value before it
    this.before = "";
  }

  // the character a key press types, or null
  static charOf(e) {
    if (e.ctrlKey && (e.key === "]" || e.code === "BracketRight")) return GS;
    if (e.ctrlKey || e.metaKey || e.altKey) return null;
    if (e.key === GS) return GS;
    return e.key && e.key.length === 1 ? e.key : null;
  }

  static textField(target) {
    return (
      target instanceof HTMLInputElement &&
      ["text", "search", "password", "url", ""].includes(target.type || "")
    );
  }

  // returns true when the key was taken as part of a scan
  keydown(e) {
    const now = e.timeStamp;
    if (e.key === "Enter" || e.key === "Tab") {
      const burst = this.chars.length >= this.minLength && now - this.lastAt <= this.endGapMs;
      const code = this.chars.join("");
      const field = this.field;
      const before = this.before;
      this.reset();
      if (!burst) return false;
      e.preventDefault();
      e.stopPropagation();
      if (field) field.value = before;
      this.onScan(code);
      return true;
    }
    const ch = Wedge.charOf(e);
    if (ch === null) return false;
    if (now - this.lastAt > this.maxGapMs) {
      // a fresh start: anything before was typed by a person
      this.reset();
      if (Wedge.textField(e.target)) {
        this.field = e.target;
        this.before = e.target.value;
      }
    } else {
      e.preventDefault(); // second and later characters of a burst
    }
    if (ch === GS) e.preventDefault();
    this.chars.push(ch);
    this.lastAt = now;
    return this.chars.length > 1;
  }
}
