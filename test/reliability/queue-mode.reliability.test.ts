/**
 * Scenario 4: n8n in queue mode — one main and two workers (`EXECUTIONS_MODE=queue`), n8n's own data
 * in a fresh PostgreSQL database, the Bull queue in local Redis — with the Dedupe Store on the
 * PostgreSQL backend (one run) and the Redis backend (another run). Concurrent webhooks (with
 * duplicates) and a batch run on both workers at once: every attendee invited exactly once.
 */
import { randomBytes } from 'node:crypto';

import Redis from 'ioredis';
import { Client } from 'pg';

import { exactlyOnce, Stage, webhooksDuringBatch, WEBHOOK_WORKFLOW } from './helpers';
import { DEMO_LEDGER_SECRET } from '../../scripts/template-credentials';

const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', password: '' };
const REDIS = { host: '127.0.0.1', port: 6379, db: 11 };
const LEDGER_SECRET = DEMO_LEDGER_SECRET;

async function admin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
	const client = new Client({ ...PG, database: 'test' });
	await client.connect();
	try {
		return await fn(client);
	} finally {
		await client.end();
	}
}

async function deleteRedisKeys(prefixes: string[]): Promise<void> {
	const redis = new Redis({ ...REDIS, lazyConnect: true, maxRetriesPerRequest: 2 });
	await redis.connect();
	try {
		for (const prefix of prefixes) {
			let cursor = '0';
			do {
				const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
				cursor = next;
				if (keys.length) await redis.del(...keys);
			} while (cursor !== '0');
		}
	} finally {
		redis.disconnect();
	}
}

describe.each([
	['postgres', 'PostgreSQL'],
	['redis', 'Redis'],
] as const)(
	'reliability: queue mode, one main + two workers, %s ledger',
	(backend, backendName) => {
		const suffix = randomBytes(4).toString('hex');
		const database = `n8n_rel_${suffix}`;
		const bullPrefix = `bull-rel-${suffix}`;
		const ledgerPrefix = `rel-${suffix}:`;
		let stage: Stage;

		beforeAll(async () => {
			await admin((c) => c.query(`CREATE DATABASE ${database}`));
			const dedupeStore =
				backend === 'postgres'
					? {
							backend: 'postgres',
							pgHost: PG.host,
							pgPort: PG.port,
							pgDatabase: database,
							pgUser: PG.user,
							pgPassword: PG.password,
							pgSsl: 'disable',
							pgSchema: 'public',
							pgTablePrefix: 'pretix_matrix_',
							hmacSecret: LEDGER_SECRET,
							retentionDays: 0,
						}
					: {
							backend: 'redis',
							redisHost: REDIS.host,
							redisPort: REDIS.port,
							redisUsername: '',
							redisPassword: '',
							redisDatabase: REDIS.db,
							redisTls: false,
							redisKeyPrefix: ledgerPrefix,
							hmacSecret: LEDGER_SECRET,
							retentionDays: 0,
						};
			stage = await Stage.start({
				label: `rel-queue-${backend}`,
				workers: 2,
				dedupeStore,
				env: {
					EXECUTIONS_MODE: 'queue',
					DB_TYPE: 'postgresdb',
					DB_POSTGRESDB_HOST: PG.host,
					DB_POSTGRESDB_PORT: String(PG.port),
					DB_POSTGRESDB_DATABASE: database,
					DB_POSTGRESDB_USER: PG.user,
					DB_POSTGRESDB_PASSWORD: PG.password,
					QUEUE_BULL_REDIS_HOST: REDIS.host,
					QUEUE_BULL_REDIS_PORT: String(REDIS.port),
					QUEUE_BULL_REDIS_DB: String(REDIS.db),
					QUEUE_BULL_PREFIX: bullPrefix,
				},
			});
			await stage.mapAttendeesRoom();
		}, 300_000);

		afterAll(async () => {
			await stage?.stop();
			await admin((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
			await deleteRedisKeys([bullPrefix, ledgerPrefix]);
		});

		test(`concurrent webhooks + a batch on two workers, ${backendName} ledger → exactly once`, async () => {
			const { plan, expected, summary, outcomes } = await webhooksDuringBatch(stage, {
				orders: {
					count: 150,
					seed: 74,
					positionsPerOrder: [1, 2],
					mix: { valid: 90, malformed: 5, missing: 5 },
					statuses: { p: 90, n: 5, c: 5 },
				},
				webhooks: { total: 200, duplicateShare: 0.25, firstId: 300_000 },
			});

			const tally = stage.tally(`queue mode (main + 2 workers), ${backendName} ledger`, expected);
			const runs = await stage.n8n.executions(WEBHOOK_WORKFLOW, false);
			// Which workers ran executions (n8n's worker log line names the execution it picked up).
			const logs = stage.n8n.logs();
			const busyWorkers = new Set(
				[...logs.matchAll(/^\[worker (\d+)\] .*Worker started execution/gm)].map((m) => m[1]),
			);
			process.stdout.write(
				`  ${plan.unique} notifications + ${plan.duplicates} duplicates, ${runs.length} webhook runs, ${busyWorkers.size} workers ran jobs; batch: ${summary.split('\n')[0]}\n`,
			);

			expect(outcomes.filter((o) => o !== 'delivered')).toEqual([]);
			expect(tally).toEqual(exactlyOnce(expected));
			expect(runs.filter((r) => r.status !== 'success')).toEqual([]);
			expect(busyWorkers.size).toBe(2);
		});
	},
);
