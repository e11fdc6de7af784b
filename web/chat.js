// Chat client of the example stack: token demo-<user>, join a room, send, receive.
// Everything received is shown with textContent (messages come from other users).
"use strict";

const LOCAL_DEFAULT = "ws://127.0.0.1:3001/production";
const url = new URLSearchParams(location.search).get("url") || LOCAL_DEFAULT;
const $ = (selector) => document.querySelector(selector);
let socket = null;
let room = null;

function meaning(code, reason) {
  // closecodes.js (from cdk-ws-api local) explains codes; without it, code and reason only.
  if (typeof describeClose === "function") return describeClose(code, reason);
  return `${code}${reason ? ` (${reason})` : ""}`;
}
function status(text, kind = "") {
  const node = $("#status");
  node.textContent = text;
  node.className = `status ${kind}`;
}
function show(kind, from, text) {
  const item = document.createElement("li");
  item.className = kind;
  if (from) {
    const who = document.createElement("b");
    who.textContent = from;
    item.append(who, " ");
  }
  item.append(text);
  $("#messages").append(item);
  item.scrollIntoView({ block: "end" });
}
function connected(on) {
  $("#text").disabled = !on;
  $("#send-button").disabled = !on;
  $("#leave-button").disabled = !on;
  $("#join-button").disabled = on;
  $("#user").disabled = on;
  $("#room").disabled = on;
}

function join(event) {
  event.preventDefault();
  const user = $("#user").value.trim();
  room = $("#room").value.trim();
  status(`connecting to ${url} as ${user}…`);
  let opened = false;
  try {
    socket = new WebSocket(`${url}?token=${encodeURIComponent(`demo-${user}`)}`);
  } catch (error) {
    status(`cannot connect: ${error.message}`, "bad");
    return;
  }
  socket.onopen = () => {
    opened = true;
    socket.send(JSON.stringify({ action: "join", room }));
    status(`connected as ${user}, in room ${room}`, "ok");
    connected(true);
    $("#text").focus();
  };
  socket.onmessage = (message) => {
    let data;
    try { data = JSON.parse(message.data); } catch { data = null; }
    if (data && typeof data.text === "string" && data.from !== undefined) show("message", data.from, data.text);
    else if (data && data.error) show("error", "error:", `${data.error}${data.action ? ` (${data.action})` : ""}`);
    else if (data && data.message) show("error", "server:", data.message);
    else show("notice", "", message.data);
  };
  socket.onclose = (event) => {
    connected(false);
    socket = null;
    if (!opened) {
      status(`connection refused or failed: ${meaning(event.code, event.reason)}. ` +
        "Check the URL and the user name (the token is demo-<user>).", "bad");
      return;
    }
    status(`disconnected: ${meaning(event.code, event.reason)}`, event.code === 1000 ? "" : "bad");
    show("closed", "", `connection closed: ${meaning(event.code, event.reason)}`);
  };
}
function send(event) {
  event.preventDefault();
  const text = $("#text").value;
  if (!socket || !text) return;
  socket.send(JSON.stringify({ action: "send", room, text }));
  $("#text").value = "";
}

$("#url").textContent = url;
$("#join").addEventListener("submit", join);
$("#compose").addEventListener("submit", send);
$("#leave-button").addEventListener("click", () => socket && socket.close(1000, "left"));
