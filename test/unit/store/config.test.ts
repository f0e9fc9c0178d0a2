import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
	closeAllLedgers,
	createBackend,
	defaultSqlitePath,
	LedgerBackendError,
	PostgresBackend,
	RedisBackend,
	SqliteBackend,
	testStoreCredential,
	withLedger,
} from '../../../lib/store';

describe('default embedded file', () => {
	test('lives in the n8n user folder when N8N_USER_FOLDER is set, else in ~/.n8n', () => {
		expect(defaultSqlitePath({ N8N_USER_FOLDER: '/data/n8n' }, '/home/x')).toBe(
			'/data/n8n/.n8n/pretix-matrix-ledger.sqlite',
		);
		expect(defaultSqlitePath({}, '/home/x')).toBe('/home/x/.n8n/pretix-matrix-ledger.sqlite');
	});
	test('the backend is chosen by the credential', () => {
		expect(createBackend({ backend: 'embedded', filePath: '/tmp/x.sqlite' })).toBeInstanceOf(
			SqliteBackend,
		);
		expect(createBackend({ backend: 'postgres' })).toBeInstanceOf(PostgresBackend);
		expect(createBackend({ backend: 'redis' })).toBeInstanceOf(RedisBackend);
		expect(() => createBackend({ backend: 'embedded', filePath: 'relative.sqlite' })).toThrow(
			/absolute/,
		);
		expect(() => createBackend({ backend: 'mongo' as never })).toThrow(/Unknown store backend/);
		expect(() => createBackend({ backend: 'postgres', pgSchema: 'x"; DROP TABLE y; --' })).toThrow(
			/schema/,
		);
	});
});

describe('withLedger', () => {
	let dir: string;
	beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ledger-config-'))));
	afterEach(async () => {
		await closeAllLedgers();
		rmSync(dir, { recursive: true, force: true });
	});

	test('re-uses one open backend per credential and creates the file', async () => {
		const credential = {
			backend: 'embedded' as const,
			filePath: join(dir, 'sub', 'ledger.sqlite'),
			hmacSecret: 'a-long-enough-secret',
		};
		const first = await withLedger(credential, async (ledger) => ledger);
		const second = await withLedger(credential, async (ledger) => ledger);
		expect(second).toBe(first);
		expect(existsSync(credential.filePath)).toBe(true);
		const third = await withLedger(
			{ ...credential, hmacSecret: 'another-long-secret' },
			async (ledger) => ledger,
		);
		expect(third).not.toBe(first);
	});

	test('a failed open is not cached, and the error is clear', async () => {
		const credential = {
			backend: 'redis' as const,
			redisHost: '127.0.0.1',
			redisPort: 1,
			hmacSecret: 'a-long-enough-secret',
		};
		const error = await withLedger(credential, async () => 'never').catch((e) => e);
		expect(error).toBeInstanceOf(LedgerBackendError);
		expect(error.message).toBe('The Redis store is unreachable (connection refused)');
		await expect(withLedger(credential, async () => 'never')).rejects.toThrow(/unreachable/);
	});

	test('a short secret is refused', async () => {
		await expect(
			withLedger(
				{ backend: 'embedded', filePath: join(dir, 'l.sqlite'), hmacSecret: 'short' },
				async () => 1,
			),
		).rejects.toThrow(/at least 8/);
	});
});

describe('credential test', () => {
	test('passes for reachable backends', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'ledger-cred-'));
		await expect(
			testStoreCredential({
				backend: 'embedded',
				filePath: join(dir, 'x.sqlite'),
				hmacSecret: 'a-long-enough-secret',
			}),
		).resolves.toBeUndefined();
		rmSync(dir, { recursive: true, force: true });
		await expect(
			testStoreCredential({
				backend: 'redis',
				redisHost: '127.0.0.1',
				redisPort: 6379,
				redisDatabase: 15,
				redisKeyPrefix: 'credtest:',
				hmacSecret: 'a-long-enough-secret',
			}),
		).resolves.toBeUndefined();
	});
	test('fails clearly for unreachable ones', async () => {
		await expect(
			testStoreCredential({
				backend: 'postgres',
				pgHost: '127.0.0.1',
				pgPort: 1,
				hmacSecret: 'a-long-enough-secret',
			}),
		).rejects.toThrow('The PostgreSQL store is unreachable (connection refused)');
		await expect(
			testStoreCredential({
				backend: 'redis',
				redisHost: '127.0.0.1',
				redisPort: 1,
				hmacSecret: 'a-long-enough-secret',
			}),
		).rejects.toThrow('The Redis store is unreachable (connection refused)');
		await expect(
			testStoreCredential({
				backend: 'postgres',
				pgHost: '127.0.0.1',
				pgDatabase: 'no_such_db_here',
				pgUser: 'postgres',
				hmacSecret: 'a-long-enough-secret',
			}),
		).rejects.toThrow('The PostgreSQL database does not exist (3D000)');
	});
});

describe('dropped connections', () => {
	test('PostgreSQL: a terminated connection is replaced, the next claim works and nothing is lost', async () => {
		const { postgresStore } = await import('./backends');
		const { Client } = await import('pg');
		const { Ledger } = await import('../../../lib/store');
		const store = postgresStore();
		const backend = store.create();
		await backend.init();
		const ledger = new Ledger(backend, { secret: 'a-long-enough-secret' });
		try {
			expect((await ledger.claim([{ event: 'e', subject: 'a' }]))[0].status).toBe('new');
			const admin = new Client({
				connectionString: (store.spec as { connectionString: string }).connectionString,
			});
			await admin.connect();
			// Only this store's connections: other test files use the same database in parallel.
			const prefix = (store.spec as { tablePrefix: string }).tablePrefix;
			const killed = await admin.query(
				'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
				[`pretix-matrix-test-${prefix}`],
			);
			await admin.end();
			expect(killed.rowCount).toBeGreaterThan(0);
			// The pool may hand out the dead connection once: that call fails clearly, the next works.
			const attempt = () =>
				ledger.claim([
					{ event: 'e', subject: 'a' },
					{ event: 'e', subject: 'b' },
				]);
			const first = await attempt().catch((error) => error);
			const results = first instanceof Error ? await attempt() : first;
			if (first instanceof Error) expect(first).toBeInstanceOf(LedgerBackendError);
			expect(results.map((r: { status: string }) => r.status)).toEqual(['leased', 'new']);
		} finally {
			await backend.close();
			await store.cleanup();
		}
	});

	test('Redis: a killed connection reconnects, the next claim works and nothing is lost', async () => {
		const { redisStore, REDIS_URL } = await import('./backends');
		const { default: Redis } = await import('ioredis');
		const { Ledger } = await import('../../../lib/store');
		const store = redisStore();
		const backend = store.create();
		await backend.init();
		const ledger = new Ledger(backend, { secret: 'a-long-enough-secret' });
		try {
			expect((await ledger.claim([{ event: 'e', subject: 'a' }]))[0].status).toBe('new');
			const admin = new Redis(REDIS_URL);
			const clients = (await admin.client('LIST')) as string;
			const ids = clients
				.split('\n')
				.filter(
					(line) => line.includes(' db=15 ') && line.includes(' name=n8n-nodes-pretix-matrix '),
				)
				.map((line) => /id=(\d+)/.exec(line)?.[1]);
			expect(ids.length).toBeGreaterThan(0);
			for (const id of ids) if (id) await admin.client('KILL', 'ID', id);
			admin.disconnect();
			await new Promise((resolve) => setTimeout(resolve, 300));
			const results = await ledger.claim([
				{ event: 'e', subject: 'a' },
				{ event: 'e', subject: 'b' },
			]);
			expect(results.map((r) => r.status)).toEqual(['leased', 'new']);
		} finally {
			await backend.close();
			await store.cleanup();
		}
	});
});
