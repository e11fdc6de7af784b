// WebSocket close codes and what they mean on API Gateway and in cdk-ws-api local.
// The one definition: the console uses it, and so does web/index.html when the emulator
// serves it (it loads /_console/closecodes.js and falls back to code + reason without it).
"use strict";
const CLOSE_CODES = {
  1000: "Normal closure (DeleteConnection, or the client closed normally)",
  1001: "Going away: idle for 10 minutes, connected for 2 hours, or the server is shutting down",
  1003: "Unsupported data: API Gateway does not accept binary frames",
  1005: "No status: the close frame carried no code",
  1006: "Closed abnormally: no close frame (the handshake was refused, or the network or server failed)",
  1008: "Policy violation: the server refused what was sent",
  1009: "Message too big: a frame over 32 KiB or a message over 128 KiB",
  1011: "Internal error: the server hit an unexpected condition",
  1012: "Service restart",
  1013: "Try again later",
};

function closeMeaning(code) {
  return CLOSE_CODES[code] || (code >= 4000 ? "Application-defined code" : "Unknown code");
}

function describeClose(code, reason) {
  return `${code} ${closeMeaning(code)}${reason ? ` (reason: ${reason})` : ""}`;
}
