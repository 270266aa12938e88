// Lock files pin versions only: drop the "funding" links npm copies from package manifests.
// npm ci does not use them. Run after any `npm install` that rewrites package-lock.json.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
for (const pkg of Object.values(lock.packages ?? {})) {
  delete pkg.funding;
  delete pkg.resolved;
}
writeFileSync(path, JSON.stringify(lock, null, 2) + "\n");
