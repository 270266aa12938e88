/// <reference types="vitest/config" />
import { defineConfig } from "vite";

declare const process: { env: Record<string, string | undefined> };

// The gateway serves dist/ from the same origin; `npm run dev` proxies /api to a local gateway.
export default defineConfig({
  esbuild: { jsx: "automatic" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { "/api": { target: process.env.TUTOR_GATEWAY_URL ?? "http://127.0.0.1:8080", changeOrigin: false } },
  },
  test: {
    include: ["test/**/*.test.{ts,tsx}"],
    environment: "node",
  },
});
