/**
 * Dedupe Store claims: 10,000 new items in ONE Ledger.claim call (what one Dedupe Store execution
 * does), per backend, through lib/store (validation, HMAC hashing, backend). The floor is the same
 * backend's raw speed for a comparable trivial batch of the same size and key shape:
 *   embedded  one transaction of prepared INSERT OR IGNORE into a (event, scope, subject) keyed table
 *   postgres  one INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING into such a table
 *   redis     one pipeline of SET key value NX PX
 * Everything created (temp file, tables with a random prefix, keys with a random prefix) is removed.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import Redis from 'ioredis';
import { Client } from 'pg';

import {
	Ledger,
	PostgresBackend,
	RedisBackend,
	SqliteBackend,
	type BackendKind,
	type LedgerBackend,
	type LedgerEntryInput,
} from '../../lib/store';
import {
	envInt,
	median,
	perSecond,
	rate,
	seconds,
	times,
	type BenchContext,
	type BenchOutcome,
	type BenchRow,
	type Benchmark,
} from './common';

const PG_URL = process.env.PRETIX_MATRIX_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.PRETIX_MATRIX_TEST_REDIS_URL || 'redis://127.0.0.1:6379/15';
const TARGET_MS: Record<BackendKind, number> = { embedded: 1000, postgres: 2000, redis: 2000 };
const ROUNDS = 3;

interface Raw {
	/** Inserts the rows (made beforehand by rawRows, untimed) in one batch; returns how many were new. */
	insert(rows: string[][]): Promise<number>;
	close(): Promise<void>;
}

interface StoreUnderTest {
	kind: BackendKind;
	backend: LedgerBackend;
	raw: Raw;
	cleanup(): Promise<void>;
}

/** Rows shaped like the ledger's stored keys: 64-hex keyed hashes. */
function rawRows(round: number, count: number): string[][] {
	const h = (s: string) => createHmac('sha256', 'raw').update(s).digest('hex');
	const event = h(`raw-${round}`);
	const scope = h('scope');
	return Array.from({ length: count }, (_, i) => [
		event,
		scope,
		h(`s${i}`),
		h(`m${i}`),
		h(`o${i}`),
	]);
}

function embedded(): StoreUnderTest {
	const dir = mkdtempSync(join(tmpdir(), 'bench-ledger-'));
	const backend = new SqliteBackend({ path: join(dir, 'ledger.sqlite') });
	const db = new DatabaseSync(join(dir, 'raw.sqlite'));
	// Same durability settings as the backend (WAL, synchronous NORMAL).
	db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
	db.exec(
		'CREATE TABLE raw (event TEXT NOT NULL, scope TEXT NOT NULL, subject TEXT NOT NULL, mxid TEXT, ord TEXT, PRIMARY KEY (event, scope, subject)) WITHOUT ROWID',
	);
	const insert = db.prepare('INSERT OR IGNORE INTO raw VALUES (?, ?, ?, ?, ?)');
	return {
		kind: 'embedded',
		backend,
		raw: {
			async insert(rows) {
				let inserted = 0;
				db.exec('BEGIN IMMEDIATE');
				for (const row of rows) inserted += Number(insert.run(...row).changes);
				db.exec('COMMIT');
				return inserted;
			},
			async close() {
				db.close();
			},
		},
		async cleanup() {
			rmSync(dir, { recursive: true, force: true });
		},
	};
}

async function postgres(): Promise<StoreUnderTest> {
	const prefix = `bench_${randomBytes(4).toString('hex')}_`;
	const backend = new PostgresBackend({ connectionString: PG_URL, tablePrefix: prefix });
	const client = new Client({ connectionString: PG_URL });
	await client.connect();
	const rawTable = `"public"."${prefix}raw"`;
	await client.query(
		`CREATE TABLE ${rawTable} (event text NOT NULL, scope text NOT NULL, subject text NOT NULL, mxid text, ord text, PRIMARY KEY (event, scope, subject))`,
	);
	return {
		kind: 'postgres',
		backend,
		raw: {
			async insert(rows) {
				const columns = [0, 1, 2, 3, 4].map((c) => rows.map((r) => r[c]));
				const result = await client.query(
					`INSERT INTO ${rawTable} SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) ON CONFLICT DO NOTHING`,
					columns,
				);
				return result.rowCount ?? 0;
			},
			async close() {
				await client.end();
			},
		},
		async cleanup() {
			const c = new Client({ connectionString: PG_URL });
			await c.connect();
			try {
				const tables = ['raw', 'ledger', 'mapping', 'cursor', 'summary'].map(
					(t) => `"public"."${prefix}${t}"`,
				);
				await c.query(`DROP TABLE IF EXISTS ${tables.join(', ')}`);
			} finally {
				await c.end();
			}
		},
	};
}

async function deleteKeys(prefix: string): Promise<void> {
	const client = new Redis(REDIS_URL, { lazyConnect: true });
	await client.connect();
	try {
		let cursor = '0';
		do {
			const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
			cursor = next;
			if (keys.length) await client.del(...keys);
		} while (cursor !== '0');
	} finally {
		client.disconnect();
	}
}

async function redis(): Promise<StoreUnderTest> {
	const prefix = `bench:${randomBytes(4).toString('hex')}:`;
	const backend = new RedisBackend({ url: REDIS_URL, keyPrefix: prefix });
	const client = new Redis(REDIS_URL, { lazyConnect: true });
	await client.connect();
	return {
		kind: 'redis',
		backend,
		raw: {
			async insert(rows) {
				const pipeline = client.pipeline();
				for (const [event, scope, subject, mxid, ord] of rows) {
					pipeline.set(
						`${prefix}raw:${event}:${scope}:${subject}`,
						`${mxid}|${ord}`,
						'PX',
						3_600_000,
						'NX',
					);
				}
				const replies = (await pipeline.exec()) ?? [];
				return replies.filter(([error, reply]) => !error && reply === 'OK').length;
			},
			async close() {
				client.disconnect();
			},
		},
		cleanup: () => deleteKeys(prefix),
	};
}

function entries(round: number, count: number): LedgerEntryInput[] {
	return Array.from({ length: count }, (_, i) => ({
		event: `exampleorg/bench${round}`,
		scope: '!attendees:localhost',
		subject: String(900_000 + i),
		matrixId: `@attendee${i + 1}:localhost`,
		orderCode: `B${String(i).padStart(5, '0')}`,
	}));
}

async function measure(
	ctx: BenchContext,
	kind: BackendKind,
	open: () => Promise<StoreUnderTest> | StoreUnderTest,
	count: number,
	broken: string[],
): Promise<BenchRow[]> {
	let store: StoreUnderTest | undefined;
	try {
		store = await open();
		await store.backend.init();
		const ledger = new Ledger(store.backend, {
			secret: 'Z3mLq8RvT1xYc7Np4KbW9sHd2Fg6Jt5Q',
			retentionDays: 30,
		});
		// Warm-up (pool connection, script load, statement cache) on both sides, not timed.
		await ledger.claim(entries(-1, 10));
		await store.raw.insert(rawRows(-1, 10));
		const oursMs: number[] = [];
		const rawMs: number[] = [];
		for (let round = 0; round < ROUNDS; round++) {
			const rows = rawRows(round, count);
			let started = performance.now();
			const inserted = await store.raw.insert(rows);
			rawMs.push(performance.now() - started);
			if (inserted !== count)
				broken.push(`store ${kind}: the raw floor batch inserted ${inserted} of ${count}`);
			const batch = entries(round, count);
			started = performance.now();
			const results = await ledger.claim(batch);
			oursMs.push(performance.now() - started);
			const won = results.filter((r) => r.status === 'new').length;
			if (won !== count)
				broken.push(`store ${kind}: ${won} of ${count} fresh keys were claimed as new`);
		}
		ctx.log(
			`store ${kind}: ours ${oursMs.map((m) => seconds(m)).join(', ')}; raw ${rawMs.map((m) => seconds(m)).join(', ')}`,
		);
		const ours = median(oursMs);
		const raw = median(rawMs);
		const bench = `store claim ${count} in 1 call`;
		return [
			{
				bench,
				what: `${kind}: claims/s`,
				figure: rate(perSecond(count, ours), '/s'),
				floor: rate(perSecond(count, raw), '/s'),
				ratio: times(perSecond(count, ours) / perSecond(count, raw)),
				target: '',
				note: `median of ${ROUNDS}`,
			},
			{
				bench,
				what: `${kind}: time for ${count}`,
				figure: seconds(ours),
				floor: seconds(raw),
				ratio: times(ours / raw),
				target: `< ${TARGET_MS[kind] / 1000} s (10k)`,
				note: 'floor: raw batch insert, same backend',
			},
		];
	} catch (error) {
		const reason = error instanceof Error ? error.message : String(error);
		ctx.log(`store ${kind}: not measured: ${reason}`);
		return [
			{
				bench: `store claim ${count} in 1 call`,
				what: `${kind}: claims/s`,
				figure: 'n/a',
				floor: 'n/a',
				ratio: '',
				target: '',
				note: `not measured: ${reason.slice(0, 80)}`,
			},
		];
	} finally {
		if (store) {
			await store.backend.close().catch(() => undefined);
			await store.raw.close().catch(() => undefined);
			await store
				.cleanup()
				.catch((error) => ctx.log(`store ${kind}: cleanup failed: ${String(error)}`));
		}
	}
}

export const storeBench: Benchmark = {
	name: 'store',
	description: 'Dedupe Store claims per second in one call, per backend, vs the raw backend',
	async run(ctx: BenchContext): Promise<BenchOutcome> {
		const count = envInt('BENCH_STORE_ITEMS', ctx.quick ? 2000 : 10_000);
		const broken: string[] = [];
		const rows: BenchRow[] = [];
		rows.push(...(await measure(ctx, 'embedded', embedded, count, broken)));
		rows.push(...(await measure(ctx, 'postgres', postgres, count, broken)));
		rows.push(...(await measure(ctx, 'redis', redis, count, broken)));
		return { rows, broken };
	},
};
