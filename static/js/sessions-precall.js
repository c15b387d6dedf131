// Pre-call check: camera and microphone preview, clear messages when blocked or missing, and
// the audio-only choice (kept for the call page in sessionStorage).
const preview = document.getElementById("preview");
const status = document.getElementById("media-status");
const help = document.getElementById("media-help");
const audioOnly = document.getElementById("audio-only");
const level = document.getElementById("mic-level");
const key = `telepsych-audio-only-${audioOnly.dataset.session}`;
let stream = null;
let meterTimer = null;

audioOnly.checked = sessionStorage.getItem(key) === "1";

function show(which) {
  help.hidden = which === null;
  for (const id of ["media-help-denied", "media-help-missing", "media-help-nomic"]) {
    document.getElementById(id).hidden = id !== which;
  }
}

function stop() {
  clearInterval(meterTimer);
  for (const track of stream?.getTracks() || []) track.stop();
  stream = null;
}

function meter(audioStream) {
  if (!audioStream.getAudioTracks().length) return;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  context.createMediaStreamSource(audioStream).connect(analyser);
  const samples = new Uint8Array(analyser.fftSize);
  meterTimer = setInterval(() => {
    analyser.getByteTimeDomainData(samples);
    let peak = 0;
    for (const sample of samples) peak = Math.max(peak, Math.abs(sample - 128));
    level.dataset.level = String(Math.min(10, Math.round(peak / 6)));
  }, 150);
}

async function check() {
  stop();
  const wantVideo = !audioOnly.checked;
  status.textContent = status.dataset.checking || status.textContent;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: wantVideo });
    show(null);
    status.textContent = wantVideo ? status.dataset.ready : status.dataset.readyAudio;
  } catch (error) {
    if (error.name === "NotAllowedError" || error.name === "SecurityError") {
      show("media-help-denied");
      status.textContent = status.dataset.denied;
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      audioOnly.checked = true;
      sessionStorage.setItem(key, "1");
      show("media-help-missing");
      status.textContent = status.dataset.readyAudio;
    } catch {
      show("media-help-nomic");
      status.textContent = status.dataset.nomic;
      return;
    }
  }
  preview.srcObject = stream;
  meter(stream);
}

audioOnly.addEventListener("change", () => {
  sessionStorage.setItem(key, audioOnly.checked ? "1" : "0");
  check();
});
document.getElementById("media-retry").addEventListener("click", check);
// Release the camera before the waiting room takes it again.
document.querySelector("form[method=post]")?.addEventListener("submit", stop);
check();
