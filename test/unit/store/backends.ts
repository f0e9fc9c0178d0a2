/**
 * The three ledger backends as the contract tests use them: each factory gives a fresh, isolated
 * store (temp file / table prefix / key prefix), a raw dump of everything stored (for privacy
 * checks) and a cleanup. PostgreSQL and Redis are real servers: point the tests elsewhere with
 * PRETIX_MATRIX_TEST_PG_URL and PRETIX_MATRIX_TEST_REDIS_URL.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from 'pg';
import Redis from 'ioredis';

import {
	PostgresBackend,
	RedisBackend,
	SqliteBackend,
	type BackendKind,
	type LedgerBackend,
} from '../../../lib/store';

export const PG_URL =
	process.env.PRETIX_MATRIX_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.PRETIX_MATRIX_TEST_REDIS_URL || 'redis://127.0.0.1:6379/15';

export interface TestStore {
	kind: BackendKind;
	/** Options a child process needs to open the same store. */
	spec: BackendSpec;
	create(): LedgerBackend;
	/** Every stored string (names, keys and values), to prove no plaintext is held. */
	dump(): Promise<string>;
	cleanup(): Promise<void>;
}

export type BackendSpec =
	| { kind: 'embedded'; path: string }
	| { kind: 'postgres'; connectionString: string; tablePrefix: string }
	| { kind: 'redis'; url: string; keyPrefix: string };

export function backendFromSpec(spec: BackendSpec): LedgerBackend {
	switch (spec.kind) {
		case 'embedded':
			return new SqliteBackend({ path: spec.path, busyTimeoutMs: 20_000 });
		case 'postgres':
			return new PostgresBackend({
				connectionString: spec.connectionString,
				tablePrefix: spec.tablePrefix,
				// Unique per store, so a test can find (and kill) exactly its own connections.
				applicationName: `pretix-matrix-test-${spec.tablePrefix}`,
			});
		case 'redis':
			return new RedisBackend({ url: spec.url, keyPrefix: spec.keyPrefix });
	}
}

const unique = () => randomBytes(4).toString('hex');

export function sqliteStore(): TestStore {
	const dir = mkdtempSync(join(tmpdir(), 'ledger-test-'));
	const spec: BackendSpec = { kind: 'embedded', path: join(dir, 'ledger.sqlite') };
	return {
		kind: 'embedded',
		spec,
		create: () => backendFromSpec(spec),
		async dump() {
			const { DatabaseSync } = await import('node:sqlite');
			const db = new DatabaseSync(spec.path);
			const tables = db
				.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
				.all() as Array<{ name: string }>;
			const out = tables.map((t) => JSON.stringify(db.prepare(`SELECT * FROM "${t.name}"`).all()));
			db.close();
			return out.join('\n');
		},
		async cleanup() {
			rmSync(dir, { recursive: true, force: true });
		},
	};
}

export function postgresStore(): TestStore {
	const tablePrefix = `t${unique()}_`;
	const spec: BackendSpec = { kind: 'postgres', connectionString: PG_URL, tablePrefix };
	const withClient = async <T>(work: (client: Client) => Promise<T>) => {
		const client = new Client({ connectionString: PG_URL });
		await client.connect();
		try {
			return await work(client);
		} finally {
			await client.end();
		}
	};
	const tables = ['ledger', 'mapping', 'cursor', 'summary'].map(
		(t) => `"public"."${tablePrefix}${t}"`,
	);
	return {
		kind: 'postgres',
		spec,
		create: () => backendFromSpec(spec),
		dump: () =>
			withClient(async (client) => {
				const parts: string[] = [];
				for (const table of tables)
					parts.push(JSON.stringify((await client.query(`SELECT * FROM ${table}`)).rows));
				return parts.join('\n');
			}),
		cleanup: () =>
			withClient(
				async (client) => void (await client.query(`DROP TABLE IF EXISTS ${tables.join(', ')}`)),
			),
	};
}

export function redisStore(): TestStore {
	const keyPrefix = `test:${unique()}:`;
	const spec: BackendSpec = { kind: 'redis', url: REDIS_URL, keyPrefix };
	const withClient = async <T>(work: (client: Redis) => Promise<T>) => {
		const client = new Redis(REDIS_URL, { lazyConnect: true });
		await client.connect();
		try {
			return await work(client);
		} finally {
			client.disconnect();
		}
	};
	const allKeys = (client: Redis) =>
		new Promise<string[]>((resolve, reject) => {
			const keys: string[] = [];
			const stream = client.scanStream({ match: `${keyPrefix}*`, count: 1000 });
			stream.on('data', (batch: string[]) => keys.push(...batch));
			stream.on('end', () => resolve(keys));
			stream.on('error', reject);
		});
	return {
		kind: 'redis',
		spec,
		create: () => backendFromSpec(spec),
		dump: () =>
			withClient(async (client) => {
				const parts: string[] = [];
				for (const key of await allKeys(client)) {
					const type = await client.type(key);
					const value =
						type === 'hash'
							? await client.hgetall(key)
							: type === 'set'
								? await client.smembers(key)
								: await client.get(key);
					parts.push(key + ' ' + JSON.stringify(value));
				}
				return parts.join('\n');
			}),
		cleanup: () =>
			withClient(async (client) => {
				const keys = await allKeys(client);
				for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
			}),
	};
}

export const STORES: Array<[BackendKind, () => TestStore]> = [
	['embedded', sqliteStore],
	['postgres', postgresStore],
	['redis', redisStore],
];
