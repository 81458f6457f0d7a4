#!/usr/bin/env node
// Runs the compiled CLI (dist/, made by `npm run build` or `npm start`) when it is up to date with
// src/; otherwise (a fresh checkout, or sources edited since the build) the TypeScript through tsx.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/cli/entry.js', import.meta.url);
const sources = fileURLToPath(new URL('../src', import.meta.url));

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const distIsCurrent =
  existsSync(compiled) && (!existsSync(sources) || statSync(fileURLToPath(compiled)).mtimeMs >= newest(sources));
if (distIsCurrent) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/entry.ts', import.meta.url).href);
}
