// The video visit: waiting room, then one RTCPeerConnection negotiated with the
// perfect-negotiation pattern (the patient is the polite peer) over /ws/sessions/<id>/.
//
// Pairing: each side names its current peer connection with a random id ("pc") and announces
// it in a "state" frame whenever its socket opens. A side creates its RTCPeerConnection only
// once it knows the other side's id, and starts afresh when that id changes (the other side
// reloaded), so a reload rejoins the call without anyone clicking anything. Frames about an
// older peer connection are ignored.

const config = JSON.parse(document.getElementById("call-config").textContent);
const labels = document.getElementById("call-labels").dataset;
const byId = (id) => document.getElementById(id);
const AUDIO_ONLY_KEY = `telepsych-audio-only-${config.sessionId}`;

const call = {
  pc: null,
  pcId: null,
  remotePcId: null,
  ws: null,
  localStream: null,
  remoteStream: null,
  polite: config.polite,
  makingOffer: false,
  ignoreOffer: false,
  live: config.state === "live",
  serverState: null,
  ended: false,
  left: false,
  audioOnly: sessionStorage.getItem(AUDIO_ONLY_KEY) === "1",
  muted: false,
  cameraOff: false,
  connectedAt: null,
  started: false,
  ready: false,
  mediaReady: null,
  stats: { rtt: null, loss: null },
};
window.telepsychCall = call;

function newId() {
  return Math.random().toString(36).slice(2, 10) + Date.now().toString(36);
}

function setStatus(text) {
  byId("call-status").textContent = text;
}

// --- socket ---------------------------------------------------------------------------------

let attempt = 0;
let incoming = Promise.resolve();
const outbox = [];

function connectSocket() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}${config.wsPath}`);
  call.ws = ws;
  ws.addEventListener("open", () => {
    attempt = 0;
    if (call.ready) announce();
    while (outbox.length && ws.readyState === WebSocket.OPEN) ws.send(outbox.shift());
    // Signaling may have been lost while the socket was down: restart ICE if media dropped.
    if (call.pc && ["failed", "disconnected"].includes(call.pc.connectionState)) restartIce();
  });
  ws.addEventListener("message", (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    incoming = incoming.then(() => handleFrame(frame)).catch((error) => console.error(error));
  });
  ws.addEventListener("close", (event) => {
    if (call.ws !== ws || call.ended || call.left) return;
    if (event.code === 4000) return showEnded();
    if (event.code === 4401 || event.code === 4403) {
      setStatus(labels.denied);
      return;
    }
    if (event.code === 4409) {
      // The call was opened in another tab or device: that page has it now.
      call.left = true;
      dropPeerConnection();
      for (const track of call.localStream?.getTracks() || []) track.stop();
      byId("call-stage").hidden = true;
      setStatus(labels.replaced);
      return;
    }
    if (call.live) setStatus(labels.reconnecting);
    const delay = Math.min(10000, 400 * 2 ** attempt) * (0.5 + Math.random() / 2);
    attempt += 1;
    setTimeout(connectSocket, delay);
  });
}

function send(frame) {
  const text = JSON.stringify(frame);
  if (call.ws && call.ws.readyState === WebSocket.OPEN) {
    call.ws.send(text);
  } else if (outbox.length < 200) {
    outbox.push(text);
  }
}

function announce() {
  send({ type: "state", pc: call.pcId, audio_only: call.audioOnly, muted: call.muted,
         camera_off: call.cameraOff });
}

// --- frames from the server -----------------------------------------------------------------

async function handleFrame(frame) {
  switch (frame.type) {
    case "session":
      return onSessionState(frame.state);
    case "peer":
      return onPeer(frame);
    case "state":
      return onRemoteState(frame);
    case "offer":
    case "answer":
      if (frame.pc !== call.remotePcId || !call.pc) return;
      return onDescription({ type: frame.type, sdp: frame.sdp });
    case "ice":
      if (frame.pc !== call.remotePcId || !call.pc) return;
      return onCandidate(frame.candidate);
    case "bye":
      if (frame.pc && frame.pc !== call.remotePcId) return;
      dropPeerConnection();
      call.pcId = newId();
      call.remotePcId = null;
      setStatus(labels.peerLeft);
      return;
    case "error":
      if (frame.code !== "not_live") console.warn("signaling error", frame.code, frame.detail);
      return;
    default:
      return;
  }
}

async function onSessionState(state) {
  call.serverState = state;
  if (state === "ended") return showEnded();
  if (state === "live") return startCall();
  call.live = false;
  if (config.role === "patient") {
    setStatus(labels.waiting);
  } else {
    // "waiting" means the patient's page is open in the waiting room right now.
    const waiting = state === "waiting";
    setStatus(waiting ? labels.patientWaiting : labels.waitingPatient);
    const presence = byId("patient-presence");
    if (presence) presence.textContent = waiting ? labels.patientWaiting : labels.patientNotHere;
  }
}

function onPeer(frame) {
  const joined = frame.status === "joined";
  if (config.role === "patient") {
    const status = byId("clinician-status");
    if (status) status.textContent = joined ? labels.clinicianHere : labels.clinicianAway;
  } else if (!call.live) {
    const presence = byId("patient-presence");
    if (presence) presence.textContent = joined ? labels.patientWaiting : labels.patientNotHere;
    setStatus(joined ? labels.patientWaiting : labels.waitingPatient);
  }
  if (call.live && !joined) setStatus(labels.peerLeft);
}

async function onRemoteState(frame) {
  // The other side may be live before our own "session" frame arrives (different paths).
  if (!call.started) await startCall();
  if (frame.pc !== call.remotePcId) {
    if (call.remotePcId !== null || call.pc) {
      dropPeerConnection();
      call.pcId = newId();
    }
    call.remotePcId = frame.pc;
    announce(); // so the other side pairs with our (possibly new) peer connection
    await createPeerConnection();
  }
  const caption = byId("remote-caption");
  caption.hidden = !frame.audio_only;
  caption.textContent = frame.audio_only ? labels.remoteAudioOnly : "";
}

async function onDescription(description) {
  const pc = call.pc;
  const offerCollision = description.type === "offer"
    && (call.makingOffer || pc.signalingState !== "stable");
  call.ignoreOffer = !call.polite && offerCollision;
  if (call.ignoreOffer) return;
  await pc.setRemoteDescription(description);
  if (description.type === "offer") {
    await pc.setLocalDescription();
    send({ type: "answer", sdp: pc.localDescription.sdp, pc: call.pcId });
  }
}

async function onCandidate(candidate) {
  try {
    await call.pc.addIceCandidate(candidate || null);
  } catch (error) {
    if (!call.ignoreOffer) console.warn("ICE candidate rejected", error);
  }
}

// --- media and the peer connection ----------------------------------------------------------

async function acquireMedia() {
  const wantVideo = !call.audioOnly;
  try {
    call.localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: wantVideo });
  } catch (error) {
    call.localStream = new MediaStream();
    if (error.name === "NotAllowedError" || error.name === "SecurityError") {
      setStatus(labels.mediaDenied);
    } else if (wantVideo) {
      // No camera (or it is busy): fall back to audio only by itself.
      try {
        call.localStream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch {
        call.localStream = new MediaStream();
      }
      call.audioOnly = true;
      setStatus(labels.noCamera);
    }
  }
  byId("local-video").srcObject = call.localStream;
  syncButtons();
}

async function startCall() {
  if (call.started) return call.mediaReady;
  call.started = true;
  call.live = true;
  byId("waiting-panel")?.setAttribute("hidden", "");
  byId("call-stage").hidden = false;
  setStatus(labels.connecting);
  call.pcId = newId();
  call.mediaReady = acquireMedia();
  await call.mediaReady;
  call.ready = true;
  announce();
}

// If a negotiation stalls (frames lost while a socket was down), the impolite side starts the
// pairing over: it forgets the other side's id and announces a new one of its own.
function restartPairing() {
  dropPeerConnection();
  call.pcId = newId();
  call.remotePcId = null;
  announce();
}

async function createPeerConnection() {
  await call.mediaReady;
  const pc = new RTCPeerConnection({ iceServers: config.iceServers });
  call.pc = pc;
  call.makingOffer = false;
  call.ignoreOffer = false;
  call.connectedAt = null;
  const stream = call.localStream;
  const audio = stream.getAudioTracks()[0] || "audio";
  const video = call.audioOnly ? "video" : stream.getVideoTracks()[0] || "video";
  pc.addTransceiver(audio, { direction: "sendrecv", streams: [stream] });
  pc.addTransceiver(video, { direction: "sendrecv", streams: [stream] });

  call.remoteStream = new MediaStream();
  byId("remote-video").srcObject = call.remoteStream;
  pc.ontrack = ({ track }) => {
    call.remoteStream.addTrack(track);
  };
  pc.onicecandidate = ({ candidate }) => {
    if (call.pc !== pc) return;
    send({ type: "ice", candidate: candidate ? candidate.toJSON() : null, pc: call.pcId });
  };
  pc.onnegotiationneeded = async () => {
    if (call.pc !== pc) return;
    try {
      call.makingOffer = true;
      await pc.setLocalDescription();
      send({ type: "offer", sdp: pc.localDescription.sdp, pc: call.pcId });
    } catch (error) {
      console.error(error);
    } finally {
      call.makingOffer = false;
    }
  };
  if (!call.polite) {
    setTimeout(() => {
      if (call.pc === pc && pc.connectionState !== "connected") restartPairing();
    }, 10000);
  }
  let disconnectTimer = null;
  pc.onconnectionstatechange = () => {
    if (call.pc !== pc) return;
    clearTimeout(disconnectTimer);
    if (pc.connectionState === "connected") {
      call.connectedAt = call.connectedAt || performance.now();
      setStatus(labels.connected);
    } else if (pc.connectionState === "failed") {
      setStatus(labels.reconnecting);
      restartIce();
    } else if (pc.connectionState === "disconnected") {
      setStatus(labels.reconnecting);
      disconnectTimer = setTimeout(() => {
        if (call.pc === pc && pc.connectionState === "disconnected") restartIce();
      }, 4000);
    }
  };
}

function restartIce() {
  if (call.pc && call.pc.signalingState !== "closed") call.pc.restartIce();
}

function dropPeerConnection() {
  if (call.pc) {
    call.pc.onnegotiationneeded = null;
    call.pc.onicecandidate = null;
    call.pc.close();
  }
  call.pc = null;
}

function videoSender() {
  return call.pc?.getTransceivers()[1]?.sender || null;
}

// --- controls -------------------------------------------------------------------------------

function syncButtons() {
  const mute = byId("toggle-mute");
  mute.firstChild.textContent = `${call.muted ? labels.unmute : labels.mute} `;
  mute.setAttribute("aria-pressed", String(call.muted));
  const camera = byId("toggle-camera");
  camera.firstChild.textContent = `${call.cameraOff ? labels.cameraOn : labels.cameraOff} `;
  camera.setAttribute("aria-pressed", String(call.cameraOff));
  camera.disabled = call.audioOnly;
  const audioOnly = byId("toggle-audio-only");
  audioOnly.firstChild.textContent = `${call.audioOnly ? labels.videoBack : labels.audioOnly} `;
  audioOnly.setAttribute("aria-pressed", String(call.audioOnly));
}

function toggleMute() {
  call.muted = !call.muted;
  for (const track of call.localStream?.getAudioTracks() || []) track.enabled = !call.muted;
  syncButtons();
  announce();
}

function toggleCamera() {
  if (call.audioOnly) return;
  call.cameraOff = !call.cameraOff;
  for (const track of call.localStream?.getVideoTracks() || []) track.enabled = !call.cameraOff;
  syncButtons();
  announce();
}

async function toggleAudioOnly() {
  call.audioOnly = !call.audioOnly;
  sessionStorage.setItem(AUDIO_ONLY_KEY, call.audioOnly ? "1" : "0");
  if (call.audioOnly) {
    for (const track of call.localStream.getVideoTracks()) {
      track.stop();
      call.localStream.removeTrack(track);
    }
    await videoSender()?.replaceTrack(null);
  } else {
    try {
      const camera = await navigator.mediaDevices.getUserMedia({ video: true });
      const track = camera.getVideoTracks()[0];
      track.enabled = !call.cameraOff;
      call.localStream.addTrack(track);
      await videoSender()?.replaceTrack(track);
    } catch {
      call.audioOnly = true;
      setStatus(labels.noCamera);
    }
  }
  byId("local-video").srcObject = call.localStream;
  syncButtons();
  announce();
}

function hangUp() {
  send({ type: "bye", pc: call.pcId });
  call.left = true;
  dropPeerConnection();
  for (const track of call.localStream?.getTracks() || []) track.stop();
  setTimeout(() => call.ws?.close(1000), 100);
  byId("call-stage").hidden = true;
  byId("left-panel").hidden = false;
  setStatus("");
}

function showEnded() {
  call.ended = true;
  dropPeerConnection();
  for (const track of call.localStream?.getTracks() || []) track.stop();
  byId("call-stage").hidden = true;
  byId("waiting-panel")?.setAttribute("hidden", "");
  byId("ended-panel").hidden = false;
  setStatus(labels.ended);
  call.ws?.close(1000);
}

byId("toggle-mute").addEventListener("click", toggleMute);
byId("toggle-camera").addEventListener("click", toggleCamera);
byId("toggle-audio-only").addEventListener("click", toggleAudioOnly);
byId("hang-up")?.addEventListener("click", hangUp);
byId("end-form")?.addEventListener("submit", () => {
  send({ type: "bye", pc: call.pcId });
  call.left = true;
});
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || !call.live || call.ended) return;
  if (event.target.closest("input, textarea, select, [contenteditable]")) return;
  const key = event.key.toLowerCase();
  if (key === "m") toggleMute();
  else if (key === "v") toggleCamera();
  else if (key === "a") toggleAudioOnly();
  else return;
  event.preventDefault();
});

// --- connection quality from getStats -------------------------------------------------------

let previous = { lost: 0, received: 0 };
async function measureQuality() {
  const pc = call.pc;
  if (!pc || pc.connectionState !== "connected") return;
  const report = await pc.getStats();
  let rtt = null;
  let lost = 0;
  let received = 0;
  report.forEach((stat) => {
    if (stat.type === "candidate-pair" && stat.nominated && stat.state === "succeeded"
        && typeof stat.currentRoundTripTime === "number") {
      rtt = stat.currentRoundTripTime;
    }
    if (stat.type === "inbound-rtp") {
      lost += stat.packetsLost || 0;
      received += stat.packetsReceived || 0;
    }
  });
  const lostDelta = Math.max(0, lost - previous.lost);
  const receivedDelta = Math.max(0, received - previous.received);
  previous = { lost, received };
  const loss = lostDelta + receivedDelta > 0 ? (100 * lostDelta) / (lostDelta + receivedDelta) : 0;
  call.stats = { rtt, loss };
  const rttMs = rtt === null ? null : Math.round(rtt * 1000);
  let level = "good";
  if ((rttMs !== null && rttMs > 400) || loss > 8) level = "poor";
  else if ((rttMs !== null && rttMs > 150) || loss > 2) level = "fair";
  const words = { good: labels.qualityGood, fair: labels.qualityFair, poor: labels.qualityPoor };
  const detail = labels.qualityDetail.replace("{rtt}", rttMs === null ? "?" : String(rttMs))
    .replace("{loss}", `${loss.toFixed(1)}%`);
  byId("quality-text").textContent = `${words[level]} (${detail})`;
  byId("quality-dot").dataset.level = level;
}
setInterval(() => measureQuality().catch(() => {}), 2000);

// --- messages to the waiting patient (over the notify socket, see notify.js) ----------------

window.addEventListener("telepsych:notify", (event) => {
  const data = event.detail || {};
  if (data.session_id !== config.sessionId) return;
  if (data.kind === "waiting.message") {
    byId("waiting-message-text").textContent = data.text;
    byId("waiting-message").hidden = false;
  } else if (data.kind === "waiting.patient_arrived" && !call.live) {
    const presence = byId("patient-presence");
    if (presence) presence.textContent = labels.patientWaiting;
  }
});

if (call.live) startCall();
connectSocket();
syncButtons();
