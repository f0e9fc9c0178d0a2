/**
 * `npm start`'s per-folder secrets (scripts/start.ts): made once with 0600 permissions, reused
 * afterwards, strong enough for the checks the nodes apply, and a folder n8n already encrypted
 * credentials in keeps its key.
 */
import {
	chmodSync,
	mkdirSync,
	mkdtempSync,
	readFileSync,
	rmSync,
	statSync,
	writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { ledgerSecretProblem } from '../../lib/store/hashing';
import { pathSecretProblem } from '../../nodes/PretixTrigger/actions/caller-auth';
import { devSecrets } from '../../scripts/start';

describe('npm start secrets', () => {
	let folder: string;
	beforeEach(() => (folder = mkdtempSync(path.join(tmpdir(), 'dev-secrets-'))));
	afterEach(() => rmSync(folder, { recursive: true, force: true }));

	test('made on the first start, readable by the user only, then reused unchanged', () => {
		const first = devSecrets(folder);
		expect(first.created).toBe(true);
		expect(statSync(first.file).mode & 0o777).toBe(0o600);
		const second = devSecrets(folder);
		expect(second.created).toBe(false);
		expect(second.secrets).toEqual(first.secrets);
		expect(JSON.parse(readFileSync(first.file, 'utf8'))).toEqual(first.secrets);
	});

	test('random per folder and strong enough for the ledger and the webhook checks', () => {
		const a = devSecrets(folder).secrets;
		const other = mkdtempSync(path.join(tmpdir(), 'dev-secrets-'));
		try {
			const b = devSecrets(other).secrets;
			for (const key of [
				'encryptionKey',
				'ownerPassword',
				'ledgerSecret',
				'webhookPathSecret',
			] as const)
				expect(a[key]).not.toBe(b[key]);
		} finally {
			rmSync(other, { recursive: true, force: true });
		}
		expect(ledgerSecretProblem(a.ledgerSecret)).toBeUndefined();
		expect(pathSecretProblem(a.webhookPathSecret)).toBeUndefined();
		expect(a.encryptionKey).not.toBe('n8n-nodes-pretix-matrix-e2e-key');
		// n8n's password rules: 8+ characters with a digit and an upper-case letter.
		expect(a.ownerPassword).toMatch(/^(?=.*\d)(?=.*[A-Z]).{8,}$/);
	});

	test('a folder an older npm start made keeps the key its credentials are encrypted with', () => {
		mkdirSync(path.join(folder, '.n8n'));
		writeFileSync(
			path.join(folder, '.n8n', 'config'),
			JSON.stringify({ encryptionKey: 'n8n-nodes-pretix-matrix-e2e-key' }),
		);
		expect(devSecrets(folder).secrets.encryptionKey).toBe('n8n-nodes-pretix-matrix-e2e-key');
	});

	test('permissions loosened later are tightened again', () => {
		const { file } = devSecrets(folder);
		chmodSync(file, 0o644);
		devSecrets(folder);
		expect(statSync(file).mode & 0o777).toBe(0o600);
	});
});
