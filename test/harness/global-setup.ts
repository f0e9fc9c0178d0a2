/**
 * Jest global setup: installs the built package the way n8n installs a community package (see
 * install-package.ts), so engine tests load exactly what users get. ENGINE_SOURCE=ts skips it: the
 * harness then loads the TypeScript sources, for quick iteration while developing.
 */
import path from 'node:path';

import { installPackedPackage, packPackage } from './install-package';

const REPO_ROOT = path.resolve(__dirname, '../..');

export default async function globalSetup(): Promise<void> {
	process.env.NODE_ENV = 'test';
	if (process.env.ENGINE_SOURCE === 'ts') return;
	const tarball = packPackage(path.join(REPO_ROOT, '.tmp/pack'));
	installPackedPackage(tarball, path.join(REPO_ROOT, '.tmp/engine-user'));
}
