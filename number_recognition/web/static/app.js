// The draw-a-number page. The pad is drawn with pointer events (mouse, finger or pen) and sent to
// /api/recognize as a PNG as soon as each stroke ends; a newer picture cancels the read of an older
// one, so the answer never waits for a stale read. An image chosen, dropped or pasted is sent as
// the file itself, so its answer is the one recognize.py gives.
// This script is a file of its own because the page's Content-Security-Policy allows no inline script.
"use strict";

// The brush is about as thick, for a digit drawn most of the pad's height, as MNIST's strokes are
// for its 20-pixel digits (2 to 3 pixels).
const BRUSH_FRACTION = 1 / 16;
const MIN_BRUSH = 8;
// Sharp on high-density screens, without painting more pixels than that.
const MAX_PIXEL_RATIO = 2;
// The picture of the pad that is read is at most this tall. A digit drawn on the pad is 100 to 250
// pixels tall and MNIST's are 20, so half the pad's 280 pixels still gives the model five times
// what it uses; a quarter of the pixels reads three times faster (a 7 on the desktop pad: 93 ms
// against 25 ms on a busy core) with the same answers for the browser tests' digits.
const SEND_HEIGHT = 140;
// An uploaded image's preview is at most this tall (CSS pixels), and small images are enlarged at most this much.
const PREVIEW_HEIGHT = 280;
const PREVIEW_ZOOM = 4;
const INPUT_SIZE = 28;

const pad = document.getElementById("pad");
const pen = pad.getContext("2d");
const upload = document.getElementById("upload");
const preview = document.getElementById("preview");
const uploadName = document.getElementById("upload-name");
const fileInput = document.getElementById("file");
const prediction = document.getElementById("prediction");
const statusLine = document.getElementById("status");
const digitsBox = document.getElementById("digits");

const strokes = []; // every stroke since the last Clear, each a list of [x, y] in CSS pixels
let stroke = null; // the stroke being drawn
let strokePointer = null; // the pointer drawing it; other fingers are ignored meanwhile
let strokeEndedAt = null; // performance.now() when the last stroke ended
let pixelRatio = 1;
let generation = 0; // raised by Clear and by an upload, so that a late answer about an older picture is dropped
let pendingRead = null; // the AbortController of the read on its way, if any

function brushWidth() {
  return Math.max(MIN_BRUSH, pad.clientHeight * BRUSH_FRACTION);
}

function preparePen() {
  pen.setTransform(pixelRatio, 0, 0, pixelRatio, 0, 0);
  pen.lineCap = "round";
  pen.lineJoin = "round";
  pen.lineWidth = brushWidth();
  pen.strokeStyle = "#000";
  pen.fillStyle = "#000";
}

function paintDot([x, y]) {
  pen.beginPath();
  pen.arc(x, y, pen.lineWidth / 2, 0, 2 * Math.PI);
  pen.fill();
}

function paintSegment([x0, y0], [x1, y1]) {
  pen.beginPath();
  pen.moveTo(x0, y0);
  pen.lineTo(x1, y1);
  pen.stroke();
}

function paintPad() {
  preparePen();
  pen.save();
  pen.fillStyle = "#fff";
  pen.fillRect(0, 0, pad.clientWidth, pad.clientHeight);
  pen.restore();
  for (const points of strokes) {
    paintDot(points[0]);
    for (let index = 1; index < points.length; index += 1) paintSegment(points[index - 1], points[index]);
  }
}

function fitPad() {
  pixelRatio = Math.min(window.devicePixelRatio || 1, MAX_PIXEL_RATIO);
  const width = Math.round(pad.clientWidth * pixelRatio);
  const height = Math.round(pad.clientHeight * pixelRatio);
  if (width === 0 || (pad.width === width && pad.height === height)) return;
  pad.width = width; // resizing a canvas clears it, so the strokes are painted again
  pad.height = height;
  paintPad();
}

function pointAt(event) {
  const box = pad.getBoundingClientRect();
  return [event.clientX - box.left - pad.clientLeft, event.clientY - box.top - pad.clientTop];
}

function startStroke(event) {
  if (stroke !== null || !event.isPrimary || event.button !== 0) return;
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  stroke = [pointAt(event)];
  strokePointer = event.pointerId;
  strokes.push(stroke);
  paintDot(stroke[0]);
}

function continueStroke(event) {
  if (stroke === null || event.pointerId !== strokePointer) return;
  // A fast pen moves several times between two frames; the coalesced events hold every position.
  const moves = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const move of moves.length ? moves : [event]) {
    const point = pointAt(move);
    paintSegment(stroke[stroke.length - 1], point);
    stroke.push(point);
  }
}

function endStroke(event) {
  if (stroke === null || event.pointerId !== strokePointer) return;
  stroke = null;
  strokePointer = null;
  strokeEndedAt = performance.now();
  readPad();
}

async function recognize(image, name, signal) {
  const options = { method: "POST", signal };
  if (name === null) {
    options.body = image;
    options.headers = { "Content-Type": image.type };
  } else {
    options.body = new FormData();
    options.body.append("image", image, name);
  }
  try {
    const response = await fetch("/api/recognize?inputs=true", options);
    const answer = await response.json().catch(() => ({}));
    if (!response.ok && !answer.error) answer.error = `the server answered ${response.status}`;
    return answer;
  } catch (error) {
    return { error: "cannot reach the server: is app.py still running?" };
  }
}

// The pad as a PNG at most SEND_HEIGHT pixels tall, whatever the screen's pixel density.
function padImage() {
  const scale = Math.min(1, SEND_HEIGHT / pad.clientHeight);
  let source = pad;
  if (scale * pixelRatio !== 1) {
    source = document.createElement("canvas");
    source.width = Math.round(pad.clientWidth * scale);
    source.height = Math.round(pad.clientHeight * scale);
    const context = source.getContext("2d");
    context.imageSmoothingQuality = "high";
    context.drawImage(pad, 0, 0, source.width, source.height);
  }
  // subtle: toBlob (and OffscreenCanvas.convertToBlob) encode in the browser's idle time, which
  // Chromium measured at a full second after a stroke; toDataURL encodes at once, in a few ms.
  const url = source.toDataURL("image/png");
  const bytes = Uint8Array.from(atob(url.slice(url.indexOf(",") + 1)), (character) => character.charCodeAt(0));
  return new Blob([bytes], { type: "image/png" });
}

// Read the pad; a read still on its way is cancelled, since its picture is out of date.
async function readPad() {
  if (pendingRead !== null) pendingRead.abort();
  const controller = new AbortController();
  pendingRead = controller;
  const asked = generation;
  const endedAt = strokeEndedAt;
  const image = padImage();
  const answer = await recognize(image, null, controller.signal);
  if (controller.signal.aborted || asked !== generation) return;
  pendingRead = null;
  showAnswer(answer, endedAt);
}

function percent(value) {
  return `${(100 * value).toFixed(value >= 0.995 || value < 0.01 ? 0 : 1)}%`;
}

function make(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

// The 28x28 input as the model saw it, white ink on black, from the answer's base64 bytes.
function inputCanvas(base64) {
  const canvas = make("canvas", "input");
  canvas.width = INPUT_SIZE;
  canvas.height = INPUT_SIZE;
  canvas.setAttribute("aria-label", "the 28 by 28 image the model saw");
  if (base64) {
    const levels = Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
    const pixels = new ImageData(INPUT_SIZE, INPUT_SIZE);
    levels.forEach((level, index) => {
      pixels.data.set([level, level, level, 255], 4 * index);
    });
    canvas.getContext("2d").putImageData(pixels, 0, 0);
  }
  return canvas;
}

function probabilityBars(digit) {
  const bars = make("div", "bars");
  bars.setAttribute("role", "img");
  bars.setAttribute(
    "aria-label",
    "probabilities: " + digit.probabilities.map((value, index) => `${index} ${percent(value)}`).join(", ")
  );
  digit.probabilities.forEach((value, index) => {
    const bar = make("div", index === digit.digit ? "bar best" : "bar");
    bar.title = `${index}: ${percent(value)}`;
    const track = make("span", "track");
    const fill = make("span", "fill");
    fill.style.height = `${100 * value}%`;
    track.append(fill);
    bar.append(track, make("span", "bar-label", String(index)));
    bars.append(bar);
  });
  return bars;
}

function digitCard(digit, index) {
  const card = make("figure", digit.uncertain ? "digit uncertain" : "digit");
  const head = make("div", "digit-head");
  const caption = make("figcaption");
  caption.append(make("strong", "", String(digit.digit)), make("span", "", percent(digit.confidence)));
  if (digit.uncertain) caption.append(make("span", "badge", "unsure"));
  head.append(inputCanvas(digit.input), caption);
  card.append(head, probabilityBars(digit));
  card.setAttribute("aria-label", `digit ${index + 1}`);
  return card;
}

function runnerUp(digit) {
  const order = digit.probabilities.map((value, index) => [value, index]).sort((a, b) => b[0] - a[0]);
  return order[1][1];
}

function clearAnswer(message) {
  prediction.replaceChildren();
  prediction.classList.remove("none");
  statusLine.className = "";
  statusLine.textContent = message;
  digitsBox.replaceChildren();
}

function showAnswer(answer, strokeEnded) {
  clearAnswer("");
  if (answer.error) {
    statusLine.className = "error";
    statusLine.textContent = `Cannot read this: ${answer.error}`;
    return;
  }
  if (answer.prediction === null) {
    prediction.textContent = "no digit";
    prediction.classList.add("none");
    statusLine.textContent = "No digit found: draw bigger, or with darker strokes.";
    return;
  }
  for (const digit of answer.digits) {
    const span = make("span", digit.uncertain ? "uncertain" : "", String(digit.digit));
    if (digit.uncertain) span.title = "uncertain";
    prediction.append(span);
  }
  const notes = [];
  const unsure = answer.digits.filter((digit) => digit.uncertain);
  if (unsure.length > 0) {
    notes.push(
      "Uncertain: " + unsure.map((digit) => `${digit.digit} might be ${runnerUp(digit)}`).join(", ") + "."
    );
  }
  const weakest = answer.digits.length > 1 ? "least sure digit " : "";
  notes.push(`Confidence: ${weakest}${percent(answer.confidence)}.`);
  if (strokeEnded !== null && strokeEnded !== undefined) {
    notes.push(`Read ${Math.round(performance.now() - strokeEnded)} ms after the stroke ended.`);
  }
  statusLine.textContent = notes.join(" ");
  answer.digits.forEach((digit, index) => digitsBox.append(digitCard(digit, index)));
}

function clearAll() {
  generation += 1;
  if (pendingRead !== null) pendingRead.abort();
  pendingRead = null;
  strokes.length = 0;
  stroke = null;
  strokePointer = null;
  upload.hidden = true;
  pad.hidden = false;
  fitPad();
  paintPad();
  clearAnswer("Nothing yet: draw a digit above.");
}

async function showPreview(file) {
  const context = preview.getContext("2d");
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const zoom = Math.min(upload.clientWidth / bitmap.width, PREVIEW_HEIGHT / bitmap.height, PREVIEW_ZOOM);
    preview.width = Math.round(bitmap.width * zoom * pixelRatio);
    preview.height = Math.round(bitmap.height * zoom * pixelRatio);
    preview.style.width = `${Math.round(bitmap.width * zoom)}px`;
    preview.hidden = false;
    context.drawImage(bitmap, 0, 0, preview.width, preview.height);
    return preview.width / bitmap.width;
  } catch (error) {
    preview.hidden = true; // a format the browser cannot show (TIFF, PGM) is still read by the server
    return null;
  }
}

function drawBoxes(answer, zoom) {
  if (zoom === null || !answer.digits) return;
  const context = preview.getContext("2d");
  context.lineWidth = 2 * pixelRatio;
  context.strokeStyle = "#2563eb";
  context.fillStyle = "#2563eb";
  context.font = `bold ${14 * pixelRatio}px system-ui, sans-serif`;
  for (const digit of answer.digits) {
    const [left, top, right, bottom] = digit.box.map((value) => value * zoom);
    context.strokeRect(left, top, right - left, bottom - top);
    context.fillText(String(digit.digit), left + 2 * pixelRatio, Math.max(14 * pixelRatio, top - 4 * pixelRatio));
  }
}

async function readFile(file) {
  if (!file) return;
  clearAll();
  const asked = generation;
  pad.hidden = true;
  upload.hidden = false;
  uploadName.textContent = `${file.name}: press Clear to draw again`;
  statusLine.textContent = `Reading ${file.name}…`;
  const [answer, zoom] = await Promise.all([recognize(file, file.name, undefined), showPreview(file)]);
  if (asked !== generation) return;
  showAnswer(answer, null);
  drawBoxes(answer, zoom);
}

async function showModel() {
  try {
    const model = await (await fetch("/api/model")).json();
    const name = model.path.split(/[\\/]/).pop();
    // Two decimals: a model's accuracy lies near 100%, which percent() would round 99.55% up to.
    const accuracy =
      model.mnist_test_accuracy === null ? "" : `, ${(100 * model.mnist_test_accuracy).toFixed(2)}% on MNIST`;
    document.getElementById("model-info").textContent = `Number Recognition ${model.version} · model ${name}${accuracy}`;
  } catch (error) {
    // The footer only describes the model; the page works without it.
  }
}

function holdsFiles(event) {
  return event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files");
}

pad.addEventListener("pointerdown", startStroke);
pad.addEventListener("pointermove", continueStroke);
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);
pad.addEventListener("contextmenu", (event) => event.preventDefault());
document.getElementById("clear").addEventListener("click", clearAll);
fileInput.addEventListener("change", () => {
  readFile(fileInput.files[0]);
  fileInput.value = ""; // choosing the same file again is a new read
});
document.addEventListener("dragover", (event) => {
  if (!holdsFiles(event)) return;
  event.preventDefault();
  document.body.classList.add("dropping");
});
document.addEventListener("dragleave", (event) => {
  if (event.relatedTarget === null) document.body.classList.remove("dropping");
});
document.addEventListener("drop", (event) => {
  if (!holdsFiles(event)) return;
  event.preventDefault();
  document.body.classList.remove("dropping");
  readFile(event.dataTransfer.files[0]);
});
document.addEventListener("paste", (event) => {
  const file = Array.from(event.clipboardData.files).find((item) => item.type.startsWith("image/"));
  if (!file) return;
  event.preventDefault();
  readFile(file);
});
new ResizeObserver(fitPad).observe(pad);
fitPad();
showModel();
