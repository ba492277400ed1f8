#!/usr/bin/env node
// Adds lockfile entries for platform-specific optional packages that `npm install` left out because the
// registry this project installs from does not serve them (other operating systems' binaries of chdb and
// Biome). npm 11's `npm ci` refuses a lockfile without them; with them it skips each one as an optional
// package for another platform, without fetching it. Run after every `npm install`:
//   node .ci/complete-lockfile.mjs          (writes package-lock.json)
//   node .ci/complete-lockfile.mjs --check  (exit 1 if entries are missing)
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;

/** os, cpu and libc of a platform package, read from its name (e.g. cli-linux-x64-musl, lib-darwin-arm64). */
function platformOf(name) {
  const os = ['darwin', 'linux', 'win32', 'android', 'freebsd'].find((candidate) => name.includes(`-${candidate}`));
  const cpu = ['arm64', 'x64', 'ia32', 'arm'].find((candidate) => name.includes(`-${candidate}`));
  if (os === undefined || cpu === undefined) return undefined;
  const libc = name.endsWith('-musl') ? ['musl'] : name.endsWith('-gnu') ? ['glibc'] : undefined;
  return { os: [os], cpu: [cpu], ...(libc === undefined ? {} : { libc }) };
}

const missing = [];
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    if (packages[`node_modules/${name}`] !== undefined || packages[`${path}/node_modules/${name}`] !== undefined) continue;
    const platform = platformOf(name);
    if (platform === undefined) continue;
    missing.push(name);
    packages[`node_modules/${name}`] = { version, ...(entry.dev ? { dev: true } : {}), optional: true, ...platform };
  }
}

if (process.argv.includes('--check')) {
  if (missing.length > 0) {
    console.error(`package-lock.json lacks ${missing.join(', ')}: run node .ci/complete-lockfile.mjs`);
    process.exit(1);
  }
} else {
  lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(missing.length === 0 ? 'package-lock.json is complete' : `added ${missing.join(', ')}`);
}
