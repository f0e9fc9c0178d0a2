/**
 * Packs this package and installs it as n8n 2.x installs community packages
 * (cli/src/modules/community-packages/community-packages.service.ts `downloadPackage`):
 * extract the tarball into <user folder>/.n8n/nodes/node_modules/<name>, delete devDependencies,
 * peerDependencies and optionalDependencies from its package.json, then run npm install with
 * n8n's flags. Used by the jest global setup, the e2e harness, `npm start` and benchmarks.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '../..');
export const PACKAGE_NAME = 'n8n-nodes-pretix-matrix';

/** The flags n8n passes to `npm install` inside an installed community package. */
export const N8N_NPM_INSTALL_FLAGS = ['install', '--audit=false', '--fund=false', '--bin-links=false', '--install-strategy=shallow', '--ignore-scripts=true', '--package-lock=false'];

/** Runs `npm pack` on the built package; returns the tarball path. Requires `npm run build` first. */
export function packPackage(destination: string): string {
	const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { n8n: { nodes: string[]; credentials: string[] } };
	const missing = [...manifest.n8n.nodes, ...manifest.n8n.credentials].filter((file) => !existsSync(path.join(REPO_ROOT, file)));
	if (missing.length) throw new Error(`Build output missing (run \`npm run build\`): ${missing.join(', ')}`);
	rmSync(destination, { recursive: true, force: true });
	mkdirSync(destination, { recursive: true });
	const output = execFileSync('npm', ['pack', '--silent', '--pack-destination', destination], { cwd: REPO_ROOT, encoding: 'utf8' });
	const file = output.trim().split('\n').pop()!.trim();
	return path.join(destination, file);
}

/**
 * Installs the tarball under `<userFolder>/.n8n/nodes/node_modules/<name>`. Skips the npm install
 * when the same tarball content was installed before (hash marker), so repeated runs stay fast.
 */
export function installPackedPackage(tarball: string, userFolder: string): string {
	const nodesDir = path.join(userFolder, '.n8n/nodes');
	const target = path.join(nodesDir, 'node_modules', PACKAGE_NAME);
	const hash = createHash('sha256').update(readFileSync(tarball)).digest('hex');
	const marker = path.join(target, '.installed-from');
	if (existsSync(marker) && readFileSync(marker, 'utf8') === hash) return target;

	rmSync(target, { recursive: true, force: true });
	mkdirSync(target, { recursive: true });
	execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
	const manifestPath = path.join(target, 'package.json');
	const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
	delete manifest.devDependencies;
	delete manifest.peerDependencies;
	delete manifest.optionalDependencies;
	writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
	execFileSync('npm', N8N_NPM_INSTALL_FLAGS, { cwd: target, stdio: ['ignore', 'ignore', 'pipe'] });
	// n8n's own nodes/package.json lists installed packages; the loader does not need it, n8n's UI does.
	const nodesManifest = path.join(nodesDir, 'package.json');
	const listing = existsSync(nodesManifest) ? (JSON.parse(readFileSync(nodesManifest, 'utf8')) as { dependencies?: Record<string, string> }) : {};
	listing.dependencies = { ...(listing.dependencies ?? {}), [PACKAGE_NAME]: String(manifest.version) };
	writeFileSync(nodesManifest, JSON.stringify({ name: 'installed-nodes', private: true, ...listing }, null, 2));
	writeFileSync(marker, hash);
	return target;
}
