/**
 * Scenario 4: n8n in queue mode — one main and two workers (`EXECUTIONS_MODE=queue`), n8n's own data
 * in a fresh PostgreSQL database, the Bull queue in local Redis — with the Dedupe Store on the
 * PostgreSQL backend (one run) and the Redis backend (another run). Concurrent webhooks (with
 * duplicates) and a batch run on both workers at once: every attendee invited exactly once.
 */
import { randomBytes } from 'node:crypto';

import Redis from 'ioredis';
import { Client } from 'pg';

import { runData } from '../harness/n8n';
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
					// What an organizer running queue mode needs too (README, "Queue mode"): n8n's
					// default pool of 2 PostgreSQL connections per process runs dry under a burst of
					// webhooks on the main process, and n8n then fails executions before they start
					// (`status: error`, never started) or drops what a trigger handed it; its watchdog
					// reads a busy pool or a starved CPU as a dead database after three 5 s pings and
					// resets the pool, aborting whatever was using it.
					DB_POSTGRESDB_POOL_SIZE: '20',
					DB_PING_TIMEOUT_MS: '20000',
					// n8n drops a finished job from Redis at once by default; a main process slower than
					// the worker then asks Bull whether the job finished only after it was gone, and waits
					// for it forever (the execution stays "running" in the main's memory; Bull's
					// `Job.finished`). Keeping the last finished jobs lets the late question be answered.
					N8N_EXECUTIONS_QUEUE_KEEP_LAST_COMPLETED: '1000',
					N8N_EXECUTIONS_QUEUE_KEEP_LAST_FAILED: '1000',
				},
			});
			await stage.mapAttendeesRoom();
		}, 600_000);

		afterAll(async () => {
			await Stage.stopAll();
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

			// Every notification was handled by exactly one webhook run (the batch would hide a lost
			// one from the invite tally: it invites everybody too). A run whose trigger items n8n
			// redacted cannot be attributed: n8n redacts a run for everyone when its credential check
			// at the start failed (modules/redaction/dynamic-credentials-context-hook.js: "Could not
			// check for resolvable credentials"), which only a starved database pool causes.
			const handled = new Map<number, number>();
			let unattributable = 0;
			for (const run of await stage.n8n.executions(WEBHOOK_WORKFLOW, true)) {
				if (run.status !== 'success') continue;
				const redaction = (run.data as { redactionInfo?: { isRedacted?: boolean } } | undefined)
					?.redactionInfo;
				if (redaction?.isRedacted) {
					unattributable++;
					continue;
				}
				const ids = new Set(
					runData(run, 'pretix webhook').map((item) => Number(item.notificationId)),
				);
				for (const id of ids) handled.set(id, (handled.get(id) ?? 0) + 1);
			}
			const notifications = [...new Set(plan.payloads.map((p) => Number(p.notification_id)))];
			const notOnce = notifications
				.filter((id) => handled.get(id) !== 1)
				.map(
					(id) =>
						`${id}: ${handled.get(id) ?? 0} runs; pretix was answered ${stage.deliveryHistory(id)}`,
				);

			expect(outcomes.filter((o) => o !== 'delivered')).toEqual([]);
			expect(tally).toEqual(exactlyOnce(expected));
			expect({ notOnce, unattributable }).toEqual({ notOnce: [], unattributable: 0 });
			expect(
				runs
					.filter((r) => r.status !== 'success')
					.map((r) => `${r.id} ${r.status} started ${r.startedAt}`),
			).toEqual([]);
			expect(busyWorkers.size).toBe(2);
			// Longer than the harness's own bounds (batch reply, deliveries, quiet: 300 s each), so a
			// stuck step fails with its explanation rather than with jest's timeout.
		}, 1_000_000);
	},
);
