/**
 * The privacy audit of issue 13, as a data-protection officer would run it: the shipped templates
 * (as shipped: successful runs keep no data) in a real n8n, the fixture event through every flow —
 * batch, webhooks, a cancellation, an unusable ID, a GDPR lookup and forget — then `!purge`, n8n
 * stopped, and every store read byte-wise for every fixture Matrix ID, order code and e-mail address
 * and the ledger's keyed hashes and sealed IDs of them: n8n's database files (with WAL), the ledger
 * (file with WAL, PostgreSQL tables, or Redis keys), n8n's logs and event logs, workflow static data
 * (in n8n's database). One line per store; the same scan before the purge must find hits.
 *
 * n8n's SQLite keeps deleted rows in free pages and its WAL: the operator step the README documents
 * (stop n8n, compact its database with one `node -e` line, start it) is part of the audit.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { Client } from 'pg';
import Redis from 'ioredis';

import { Ledger, PostgresBackend, RedisBackend, SqliteBackend, type LedgerBackend } from '../../lib/store';
import { startDemoServices, type DemoServices } from '../../scripts/demo';
import { DEMO_LEDGER_SECRET, templateCredentials } from '../../scripts/template-credentials';
import { readFixture } from '../fakes/pretix';
import { delay, N8nInstance, type CredentialImport } from '../harness/n8n';
import { PG_URL, REDIS_URL } from '../unit/store/backends';
import { batchInvite, botMessages, command, connectN8nApi, loadTemplates, webhookPath } from './support';

const EVENT = 'exampleorg/summit26';

/** The compaction one-liner of the README's "Compact n8n's database" step (the `node -e '…'` script). */
function readmeCompactionScript(): string {
	const readme = readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
	const script = /^\s*node -e '([^']+)' /m.exec(readme)?.[1];
	if (!script) throw new Error('README.md has no `node -e \'…\'` compaction command');
	return script;
}
/** n8n removes the executions it does not keep within a minute (default: 15). */
const N8N_ENV = { EXECUTIONS_DATA_PRUNE_HARD_DELETE_INTERVAL: '1' };
type Json = Record<string, unknown>;

/** Every fixture order's code, Matrix ID answers and e-mail addresses, as stored in pretix. */
function fixtureIdentifiers(): { codes: string[]; matrixIds: string[]; emails: string[] } {
	const orders = [...readFixture<{ results: Json[] }>('orders-page-1.json').results, ...readFixture<{ results: Json[] }>('orders-page-2.json').results];
	const codes = orders.map((o) => String(o.code));
	const emails = [...new Set(orders.flatMap((o) => [o.email, ...(o.positions as Json[]).map((p) => p.attendee_email)]).filter((e): e is string => typeof e === 'string' && e.includes('@')))];
	const matrixIds = [...new Set(orders.flatMap((o) => (o.positions as Json[]).flatMap((p) => ((p.answers as Json[]) ?? []).filter((a) => a.question_identifier === 'matrix').map((a) => String(a.answer).trim()))))].filter((a) => a.length > 3);
	return { codes, matrixIds, emails };
}

describe.each(['embedded', 'postgres', 'redis'] as const)('privacy audit with the %s ledger (real n8n)', (kind) => {
	let services: DemoServices;
	let n8n: N8nInstance;
	let backend: LedgerBackend;
	let ledger: Ledger;
	const suffix = randomBytes(4).toString('hex');
	const pgPrefix = `audit_${suffix}_`;
	const redisPrefix = `audit-${suffix}:`;
	const ids = fixtureIdentifiers();
	const extra = { codes: [] as string[], matrixIds: ['@newbie:example.org', '@changed:example.org'] };
	/** Keyed hashes and sealed IDs the ledger held before the purge: pseudonymous, personal too. */
	let pseudonyms: string[] = [];

	function ledgerCredential(): CredentialImport['data'] {
		if (kind === 'postgres') {
			const url = new URL(PG_URL);
			return { backend: 'postgres', pgHost: url.hostname, pgPort: Number(url.port || 5432), pgDatabase: url.pathname.slice(1), pgUser: decodeURIComponent(url.username), pgPassword: decodeURIComponent(url.password), pgSsl: 'disable', pgSchema: 'public', pgTablePrefix: pgPrefix, hmacSecret: DEMO_LEDGER_SECRET, retentionDays: 0 };
		}
		if (kind === 'redis') {
			const url = new URL(REDIS_URL);
			return { backend: 'redis', redisHost: url.hostname, redisPort: Number(url.port || 6379), redisUsername: '', redisPassword: '', redisDatabase: Number(url.pathname.slice(1) || 0), redisTls: false, redisKeyPrefix: redisPrefix, hmacSecret: DEMO_LEDGER_SECRET, retentionDays: 0 };
		}
		return { backend: 'embedded', hmacSecret: DEMO_LEDGER_SECRET };
	}

	/** The bytes of one store, as text (binary files decoded as latin1 so every byte maps to one char). */
	async function stores(): Promise<Array<[string, string]>> {
		const folder = path.join(n8n.userFolder, '.n8n');
		const files = (names: string[]) => names.filter((f) => existsSync(f)).map((f) => readFileSync(f).toString('latin1')).join('\n');
		const db = path.join(folder, 'database.sqlite');
		const out: Array<[string, string]> = [["n8n's database (+WAL, static data inside)", files([db, `${db}-wal`, `${db}-shm`])]];
		if (kind === 'embedded') {
			const file = path.join(folder, 'pretix-matrix-ledger.sqlite');
			out.push(['ledger file (+WAL)', files([file, `${file}-wal`, `${file}-shm`])]);
		} else if (kind === 'postgres') {
			const client = new Client({ connectionString: PG_URL });
			await client.connect();
			try {
				const parts: string[] = [];
				for (const table of ['ledger', 'mapping', 'cursor', 'summary']) parts.push(JSON.stringify((await client.query(`SELECT * FROM "public"."${pgPrefix}${table}"`)).rows));
				out.push(['PostgreSQL ledger tables', parts.join('\n')]);
			} finally {
				await client.end();
			}
		} else {
			const client = new Redis(REDIS_URL);
			try {
				const keys = await client.keys(`${redisPrefix}*`);
				const parts: string[] = [];
				for (const key of keys) {
					const type = await client.type(key);
					parts.push(key + ' ' + JSON.stringify(type === 'hash' ? await client.hgetall(key) : type === 'set' ? await client.smembers(key) : await client.get(key)));
				}
				out.push(['Redis ledger keys', parts.join('\n')]);
			} finally {
				client.disconnect();
			}
		}
		const logs = readdirSync(folder).filter((f) => /^n8nEventLog.*\.log$/.test(f)).map((f) => path.join(folder, f));
		out.push(["n8n's event logs", files(logs)]);
		out.push(["n8n's log", n8n.logs()]);
		return out;
	}

	/**
	 * The operator step of the README ("Compact n8n's database"): once n8n has removed the executions
	 * it does not keep, stop it and compact its SQLite file with the README's own command line (n8n
	 * stays stopped, for the scan). DB_SQLITE_VACUUM_ON_STARTUP alone was not enough here: that VACUUM
	 * goes through the WAL, and n8n 2.40.7 leaves its WAL behind at shutdown, with old frames in it.
	 */
	async function compactN8nDatabase(): Promise<void> {
		// Executions n8n does not keep are soft-deleted, then removed for good at its next
		// hard-deletion cycle (every EXECUTIONS_DATA_PRUNE_HARD_DELETE_INTERVAL minutes; 1 here).
		const { DatabaseSync } = await import('node:sqlite');
		const file = path.join(n8n.userFolder, '.n8n/database.sqlite');
		const deadline = Date.now() + 240_000;
		for (;;) {
			const db = new DatabaseSync(file, { readOnly: true });
			// Also until nothing runs: the !forget run itself is deleted only once it has finished.
			const left = (db.prepare("SELECT count(*) AS n FROM execution_entity WHERE deletedAt IS NOT NULL OR status IN ('new', 'running', 'waiting')").get() as { n: number }).n;
			db.close();
			if (left === 0 || Date.now() > deadline) break;
			await delay(2000);
		}
		await n8n.stop();
		execFileSync(process.execPath, ['-e', readmeCompactionScript(), file], { stdio: 'pipe' });
	}

	/** Which of n8n's executions hold a needle in their data: id, workflow, mode, status, deletion. */
	async function executionsHolding(needle: string): Promise<unknown[]> {
		const { DatabaseSync } = await import('node:sqlite');
		const db = new DatabaseSync(path.join(n8n.userFolder, '.n8n/database.sqlite'), { readOnly: true });
		try {
			return db.prepare('SELECT e.id, e.workflowId, e.mode, e.status, e.finished, e.deletedAt FROM execution_entity e JOIN execution_data d ON d.executionId = e.id WHERE instr(d.data, ?) > 0').all(needle);
		} finally {
			db.close();
		}
	}

	function needles(): string[] {
		const plain = [...ids.codes, ...extra.codes, ...ids.matrixIds, ...extra.matrixIds, ...ids.emails];
		return [...new Set([...plain, ...plain.map((v) => v.toLowerCase()), ...pseudonyms])];
	}

	async function scan(label: string): Promise<Map<string, number>> {
		const found = new Map<string, number>();
		const all = needles();
		for (const [store, text] of await stores()) {
			const hits = all.filter((needle) => text.includes(needle)).length;
			found.set(store, hits);
			console.log(`privacy audit (${kind}), ${label}: ${store}: ${hits} hits`);
		}
		return found;
	}

	beforeAll(async () => {
		services = await startDemoServices();
		services.homeserver.exemptFromRateLimits(services.botUserId);
		const templates = loadTemplates(services, { keepExecutions: false });
		const credentials = templateCredentials(services).map((c) => (c.id === 'dedupeStoreCredential' ? { ...c, data: ledgerCredential() } : c));
		n8n = await N8nInstance.start({ label: `privacy-${kind}`, credentials, workflows: templates, publish: templates.filter((w) => w.id !== 'pretixMatrixPurge').map((w) => w.id), env: N8N_ENV });
		await connectN8nApi(n8n);
		backend = kind === 'postgres' ? new PostgresBackend({ connectionString: PG_URL, tablePrefix: pgPrefix }) : kind === 'redis' ? new RedisBackend({ url: REDIS_URL, keyPrefix: redisPrefix }) : new SqliteBackend({ path: path.join(n8n.userFolder, '.n8n/pretix-matrix-ledger.sqlite') });
		await backend.init();
		ledger = new Ledger(backend, { secret: DEMO_LEDGER_SECRET });
		services.pretix.addWebhook({ target_url: n8n.webhookUrl(webhookPath(templates)), action_types: ['pretix.event.order.*'] });
		await delay(3000);
	}, 300_000);

	afterAll(async () => {
		await backend?.close();
		await n8n?.destroy();
		await services?.stop();
	});

	const until = async (what: () => boolean, timeoutMs = 60_000) => {
		const deadline = Date.now() + timeoutMs;
		while (!what() && Date.now() < deadline) await delay(300);
		expect(what()).toBe(true);
	};

	test('every flow with the fixture event, a forget in the middle, then the purge leaves nothing personal anywhere', async () => {
		const room = services.attendeesRoom;
		await command(services, n8n, room, `!setroom ${services.pretixUrl}/exampleorg/summit26/`);
		await batchInvite(services, n8n, room);
		expect(services.homeserver.membership(room, '@alice:example.org')).toBe('invite');
		// Webhooks: a new paid order, a changed answer, a cancellation, an unusable ID.
		services.homeserver.createUser('@newbie:example.org');
		services.homeserver.createUser('@changed:example.org');
		const fresh = services.pretix.copyOrder({ status: 'p' }) as Json & { code: string; positions: Json[] };
		extra.codes.push(fresh.code);
		services.pretix.setAnswer(fresh.code, Number(fresh.positions[0].id), '@newbie:example.org');
		services.pretix.notify('pretix.event.order.paid', { event: 'summit26', code: fresh.code });
		await until(() => services.homeserver.membership(room, '@newbie:example.org') === 'invite');
		services.pretix.setAnswer(fresh.code, Number(fresh.positions[0].id), '@changed:example.org');
		services.pretix.notify('pretix.event.order.modified', { event: 'summit26', code: fresh.code });
		await until(() => services.homeserver.membership(room, '@changed:example.org') === 'invite');
		services.pretix.cancelOrder('D9HLM');
		services.pretix.notify('pretix.event.order.canceled', { event: 'summit26', code: 'D9HLM' });
		await until(() => services.homeserver.membership(room, '@dave:example.org') === 'leave');
		const bad = services.pretix.copyOrder({ status: 'p' }) as Json & { code: string; positions: Json[] };
		extra.codes.push(bad.code);
		services.pretix.setAnswer(bad.code, Number(bad.positions[0].id), 'not an id');
		const reportsBefore = botMessages(services, services.organizersRoom).length;
		services.pretix.notify('pretix.event.order.paid', { event: 'summit26', code: bad.code });
		await until(() => botMessages(services, services.organizersRoom).length > reportsBefore);

		// GDPR: access and erasure from chat, replies in the command room only.
		const lookup = await command(services, n8n, room, '!lookup @peggy:example.org');
		expect(lookup[0]).toMatch(/holds 1 entry/);
		for (const row of await backend.grants({ event: EVENT }, Date.now())) pseudonyms.push(...[row.subject, row.mxid, row.order, row.ticket, row.sealed].filter((v): v is string => !!v));
		pseudonyms = [...new Set(pseudonyms)];
		const peggy = [ledger.matrixIdHash('@peggy:example.org')];
		const forget = await command(services, n8n, room, '!forget @peggy:example.org');
		expect(forget[0]).toMatch(/^Erased 1 ledger entry/);
		// Deleted executions linger in n8n's free pages and WAL: the operator compacts the database.
		await compactN8nDatabase();
		for (const [store, text] of await stores()) {
			const left = ['@peggy:example.org', 'N7VWZ', ...peggy].filter((needle) => text.includes(needle));
			console.log(`privacy audit (${kind}), after !forget @peggy: ${store}: ${left.length} hits`);
			for (const needle of left) {
				const at = text.indexOf(needle);
				console.log(`  ${needle.slice(0, 12)}… in ${store}: …${text.slice(Math.max(0, at - 300), at + 100).replace(/[^\x20-\x7e]/g, '.')}…`);
				if (store.startsWith("n8n's database")) {
					const db = path.join(n8n.userFolder, '.n8n/database.sqlite');
					const inFiles = [db, `${db}-wal`, `${db}-shm`].filter((f) => existsSync(f) && readFileSync(f).toString('latin1').includes(needle)).map((f) => path.basename(f));
					console.log(`  in ${inFiles.join(', ')}; executions holding it: ${JSON.stringify(await executionsHolding(needle))}`);
				}
			}
			expect({ store, left }).toEqual({ store, left: [] });
		}
		await n8n.restart();
		await delay(3000);
		// The others still work: a repeated webhook of an invited order invites nobody twice.
		services.pretix.notify('pretix.event.order.paid', { event: 'summit26', code: 'ABC3K' });
		await delay(4000);
		expect(services.homeserver.inviteCount(room, '@alice:example.org')).toBe(1);

		// Before the purge the scan finds what it looks for (so it is real).
		const before = await scan('before the purge');
		expect([...before.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
		expect(before.get(kind === 'embedded' ? 'ledger file (+WAL)' : kind === 'postgres' ? 'PostgreSQL ledger tables' : 'Redis ledger keys')).toBeGreaterThan(0);

		// The event is over; a moderator of its room purges it.
		const summit = (await (await fetch(`${services.pretixUrl}/api/v1/organizers/exampleorg/events/summit26/`, { headers: { Authorization: `Token ${services.pretixToken}` } })).json()) as Json;
		services.pretix.addEvent('exampleorg', { ...summit, date_from: '2020-01-01T10:00:00Z', date_to: '2020-01-02T10:00:00Z' });
		await n8n.publish('pretixMatrixPurge');
		await delay(3000);
		const purged = await command(services, n8n, room, '!purge', 1, 180_000);
		expect(purged[0]).toMatch(/Deleted now: \d+ ledger entries, 1 room mappings, \d+ stored n8n executions/);

		// The operator step after a purge: n8n's SQLite database compacted (n8n stays stopped for the scan).
		await compactN8nDatabase();
		const after = await scan('after the purge');
		expect(Object.fromEntries(after)).toEqual(Object.fromEntries([...after.keys()].map((store) => [store, 0])));
	}, 900_000);
});
