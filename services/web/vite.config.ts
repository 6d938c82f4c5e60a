/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` serves the UI on :5173 and forwards /api to a gateway on :8080 (as the
// gateway itself does on :3000 in production), so cookies and the CSRF check stay same-origin.
const API = process.env.DOCKBACK_API ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      "/api": { target: API, rewrite: (path) => path.replace(/^\/api/, ""), changeOrigin: false },
    },
  },
  build: { outDir: "dist", sourcemap: true, chunkSizeWarningLimit: 1024 },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test-setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    testTimeout: 30_000,
  },
});
