import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { reportEvent, installErrorReporting } from "./api/telemetry";
import { installAudioUnlock } from "./audio/audioUnlock";
import "./styles.css";

installErrorReporting();
installAudioUnlock();

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element");
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
reportEvent("page.loaded", { width: window.innerWidth, height: window.innerHeight });
