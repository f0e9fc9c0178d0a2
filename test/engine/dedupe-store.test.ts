/**
 * Dedupe Store through n8n's engine: claim routing (New / Seen), settle operations, room mappings,
 * event operations, GDPR look-up/erasure, errors and the credential test, on real backends.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject, INodeParameters } from 'n8n-workflow';

import { closeAllLedgers } from '../../lib/store';
import { n8nFolder } from '../../lib/store/config';
import { DedupeStore } from '../../nodes/DedupeStore/DedupeStore.node';
import { runWorkflow, wf } from '../harness/engine';
import { PG_URL, postgresStore, redisStore, REDIS_URL } from '../unit/store/backends';

const attendees: IDataObject[] = [
	{
		event: 'summit26',
		orderCode: 'ABC3K',
		positionId: 5001,
		itemId: 201,
		variationId: null,
		matrixId: '@alice:example.org',
	},
	{
		event: 'summit26',
		orderCode: 'E3PZV',
		positionId: 5011,
		itemId: 201,
		variationId: null,
		matrixId: '@frank:example.org',
	},
	{
		event: 'summit26',
		orderCode: 'E3PZV',
		positionId: 5014,
		itemId: 203,
		variationId: null,
		matrixId: null,
	},
];

const LEDGER_SECRET = 'm_w6qQILCMZEz1g5yN-yQgINChuGIX78';
// The tests' ledger files live in the temporary folder, allowed as an operator would allow it.
process.env.N8N_RESTRICT_FILE_ACCESS_TO = tmpdir();

let dir: string;
let credentials: Record<string, IDataObject>;

beforeEach(() => {
	dir = mkdtempSync(join(tmpdir(), 'dedupe-engine-'));
	credentials = {
		dedupeStoreApi: {
			backend: 'embedded',
			filePath: join(dir, 'ledger.sqlite'),
			hmacSecret: LEDGER_SECRET,
		},
	};
});
afterEach(async () => {
	await closeAllLedgers();
	rmSync(dir, { recursive: true, force: true });
});

const store = (parameters: INodeParameters, extra: { continueOnFail?: boolean } = {}) =>
	wf([
		{ name: 'Store', type: 'dedupeStore', parameters, credentials: ['dedupeStoreApi'], ...extra },
	]);
const run = (
	parameters: INodeParameters,
	input: IDataObject[] = [{}],
	extra: { continueOnFail?: boolean } = {},
) => runWorkflow({ workflow: store(parameters, extra), credentials: credentials as never, input });

describe('claim', () => {
	test('new items go to output 1, already claimed ones to output 2, item data kept', async () => {
		const first = await run(
			{ resource: 'entry', operation: 'claim', scope: '!main:example.org' },
			attendees,
		);
		expect(first.status).toBe('success');
		expect(first.output('Store', 0)).toEqual(
			attendees.map((a) => ({
				...a,
				dedupe: { status: 'new', claimed: true, attempts: 1, outcome: null, reason: null },
			})),
		);
		expect(first.output('Store', 1)).toEqual([]);
		expect(first.items('Store', 0).map((i) => i.pairedItem)).toEqual([
			{ item: 0 },
			{ item: 1 },
			{ item: 2 },
		]);

		const second = await run(
			{ resource: 'entry', operation: 'claim', scope: '!main:example.org' },
			[attendees[1], { ...attendees[0], positionId: 9999 }],
		);
		expect(second.output('Store', 0).map((i) => i.positionId)).toEqual([9999]);
		expect(second.output('Store', 1)).toEqual([
			{
				...attendees[1],
				dedupe: { status: 'leased', claimed: false, attempts: 1, outcome: null, reason: null },
			},
		]);
	});

	test('claim → complete in one workflow, then the next run sees them as done', async () => {
		const workflow = wf(
			[
				{
					name: 'Claim',
					type: 'dedupeStore',
					parameters: { resource: 'entry', operation: 'claim' },
					credentials: ['dedupeStoreApi'],
				},
				{
					name: 'Complete',
					type: 'dedupeStore',
					parameters: { resource: 'entry', operation: 'complete', outcome: 'invited' },
					credentials: ['dedupeStoreApi'],
				},
			],
			[['Claim', 'Complete', 0]],
		);
		const result = await runWorkflow({
			workflow,
			credentials: credentials as never,
			input: attendees,
		});
		expect(result.status).toBe('success');
		expect(result.output('Complete').map((i) => i.dedupe)).toEqual([
			{ recorded: 'invited', reason: null },
			{ recorded: 'invited', reason: null },
			{ recorded: 'invited', reason: null },
		]);
		const again = await run({ resource: 'entry', operation: 'claim' }, attendees);
		expect(again.output('Store', 0)).toEqual([]);
		expect(again.output('Store', 1).map((i) => (i.dedupe as IDataObject).status)).toEqual([
			'done',
			'done',
			'done',
		]);
		const stats = await run({ resource: 'event', operation: 'stats', event: 'summit26' });
		expect(stats.output('Store')).toEqual([
			{
				event: 'summit26',
				seen: 3,
				pending: 0,
				invited: 3,
				accepted: 0,
				invalid: 0,
				failed: 0,
				withdrawn: 0,
				held: 3,
			},
		]);
	});

	test('a bad item fails the node and nothing of the batch is written', async () => {
		const bad = [attendees[0], { ...attendees[1], positionId: { nested: true } }, attendees[2]];
		const failed = await run({ resource: 'entry', operation: 'claim' }, bad);
		expect(failed.status).toBe('error');
		expect(failed.error?.message).toBe('The subject must be text or a number');
		const retry = await run({ resource: 'entry', operation: 'claim' }, attendees);
		expect(retry.output('Store', 0)).toHaveLength(3);
	});

	test('with Continue On Fail a bad item goes to Seen with the error, never to New', async () => {
		const bad = [attendees[0], { ...attendees[1], event: '' }];
		const result = await run({ resource: 'entry', operation: 'claim' }, bad, {
			continueOnFail: true,
		});
		expect(result.status).toBe('success');
		expect(result.output('Store', 0).map((i) => i.positionId)).toEqual([5001]);
		expect(result.output('Store', 1)).toEqual([{ error: 'The event is missing' }]);
	});

	test('fail (retryable) and release make items claimable again; a final fail does not', async () => {
		await run({ resource: 'entry', operation: 'claim' }, attendees);
		const failed = await run(
			{ resource: 'entry', operation: 'fail', reason: 'M_LIMIT_EXCEEDED', retryable: true },
			[attendees[0]],
		);
		expect(failed.output('Store')[0].dedupe).toEqual({
			recorded: 'failed',
			reason: 'M_LIMIT_EXCEEDED',
			retryable: true,
		});
		await run({ resource: 'entry', operation: 'fail', reason: 'M_FORBIDDEN' }, [attendees[1]]);
		await run({ resource: 'entry', operation: 'release' }, [attendees[2]]);
		const again = await run({ resource: 'entry', operation: 'claim' }, attendees);
		expect(
			again.output('Store', 0).map((i) => [i.positionId, (i.dedupe as IDataObject).status]),
		).toEqual([
			[5001, 'reclaimed'],
			[5014, 'reclaimed'],
		]);
		expect(again.output('Store', 1).map((i) => i.dedupe)).toEqual([
			{ status: 'done', claimed: false, attempts: 1, outcome: 'failed', reason: 'M_FORBIDDEN' },
		]);
	});

	test('complete with a reason per item records each', async () => {
		const items = [
			{ ...attendees[0], why: 'missingServer' },
			{ ...attendees[1], why: 'badLocalpart' },
		];
		const result = await run(
			{ resource: 'entry', operation: 'complete', outcome: 'invalid', reason: '={{ $json.why }}' },
			items,
		);
		expect(result.output('Store').map((i) => i.dedupe)).toEqual([
			{ recorded: 'invalid', reason: 'missingServer' },
			{ recorded: 'invalid', reason: 'badLocalpart' },
		]);
		const seen = await run({ resource: 'entry', operation: 'claim' }, items);
		expect(seen.output('Store', 1).map((i) => (i.dedupe as IDataObject).reason)).toEqual([
			'missingServer',
			'badLocalpart',
		]);
	});

	test('free text as a reason is refused (it could carry personal data)', async () => {
		const result = await run(
			{ resource: 'entry', operation: 'fail', reason: 'could not invite @alice:example.org' },
			[attendees[0]],
		);
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/short code/);
		expect(result.error?.message).not.toContain('alice');
	});
});

describe('room mappings', () => {
	test('set, list, resolve (no fallback), unset', async () => {
		await run({
			resource: 'roomMapping',
			operation: 'set',
			event: 'summit26',
			room: '!main:example.org',
		});
		const set = await run({
			resource: 'roomMapping',
			operation: 'set',
			event: 'summit26',
			room: '!workshop:example.org',
			item: '203',
		});
		expect(set.output('Store')).toEqual([
			{
				event: 'summit26',
				room: '!workshop:example.org',
				item: '203',
				variation: null,
				created: true,
			},
		]);
		await run({
			resource: 'roomMapping',
			operation: 'set',
			event: 'meetups26',
			room: '!meetup:example.org',
			item: '202',
		});

		const list = await run({ resource: 'roomMapping', operation: 'list', event: 'summit26' });
		expect(list.output('Store').map((m) => m.room)).toEqual([
			'!main:example.org',
			'!workshop:example.org',
		]);

		const resolved = await run({ resource: 'roomMapping', operation: 'resolve' }, [
			...attendees,
			{ event: 'meetups26', itemId: 201 },
		]);
		expect(resolved.output('Store').map((i) => i.rooms)).toEqual([
			['!main:example.org'],
			['!main:example.org'],
			['!main:example.org', '!workshop:example.org'],
			[],
		]);

		const split = await run({ resource: 'roomMapping', operation: 'resolve', output: 'split' }, [
			attendees[2],
			{ event: 'meetups26', itemId: 201 },
		]);
		expect(split.output('Store').map((i) => i.room)).toEqual([
			'!main:example.org',
			'!workshop:example.org',
		]);
		expect(split.items('Store').map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 0 }]);

		const unset = await run({
			resource: 'roomMapping',
			operation: 'unset',
			room: '!main:example.org',
		});
		expect(unset.output('Store')).toEqual([{ removed: 1 }]);
		const none = await run({ resource: 'roomMapping', operation: 'unset' });
		expect(none.status).toBe('error');
		expect(none.error?.message).toMatch(/event, a room, or both/);
	});
});

describe('follow room upgrade', () => {
	// A room upgrade (spec: m.room.tombstone, content.replacement_room) moves the old room's mappings;
	// the defaults read the trigger's roomUpgrade item.
	test('the old room\'s mappings move to the replacement room; other rooms\' stay; a second run moves nothing', async () => {
		for (const [event, room] of [['summit26', '!hall:example.org'], ['meetups26', '!hall:example.org'], ['summit26', '!workshop:example.org']])
			await run({ resource: 'roomMapping', operation: 'set', event, room });
		const upgrade = { kind: 'roomUpgrade', roomId: '!hall:example.org', replacementRoom: '!hall-v2:example.org' };
		const moved = await run({ resource: 'roomMapping', operation: 'followUpgrade' }, [upgrade]);
		expect(moved.output('Store')).toEqual([
			{ oldRoom: '!hall:example.org', newRoom: '!hall-v2:example.org', mappingsMoved: 2, rowsMoved: 0, peopleToInvite: 0 },
		]);
		const list = await run({ resource: 'roomMapping', operation: 'list' });
		expect(list.output('Store').map((m) => `${m.event}>${m.room}`).sort()).toEqual(
			['meetups26>!hall-v2:example.org', 'summit26>!hall-v2:example.org', 'summit26>!workshop:example.org'].sort(),
		);
		const again = await run({ resource: 'roomMapping', operation: 'followUpgrade' }, [upgrade]);
		expect(again.output('Store')).toEqual([
			{ oldRoom: '!hall:example.org', newRoom: '!hall-v2:example.org', mappingsMoved: 0, rowsMoved: 0, peopleToInvite: 0 },
		]);
	});

	test('an item without a replacement room fails the node and moves nothing', async () => {
		await run({ resource: 'roomMapping', operation: 'set', event: 'summit26', room: '!hall:example.org' });
		const failed = await run({ resource: 'roomMapping', operation: 'followUpgrade' }, [{ roomId: '!hall:example.org' }]);
		expect(failed.status).toBe('error');
		const list = await run({ resource: 'roomMapping', operation: 'list' });
		expect(list.output('Store').map((m) => m.room)).toEqual(['!hall:example.org']);
	});
});

describe('event operations and GDPR', () => {
	test('cursor set/get, stats, lookup, forget, purge', async () => {
		await run({ resource: 'entry', operation: 'claim' }, attendees);
		await run(
			{ resource: 'entry', operation: 'complete', outcome: 'invited' },
			attendees.slice(0, 2),
		);

		expect(
			(await run({ resource: 'event', operation: 'getCursor', event: 'summit26' })).output('Store'),
		).toEqual([{ cursor: null }]);
		await run({
			resource: 'event',
			operation: 'setCursor',
			event: 'summit26',
			cursorValue: '2026-06-10T08:00:00.512377Z',
		});
		expect(
			(await run({ resource: 'event', operation: 'getCursor', event: 'summit26' })).output('Store'),
		).toEqual([{ cursor: '2026-06-10T08:00:00.512377Z' }]);

		const lookup = await run({
			resource: 'entry',
			operation: 'lookup',
			personMatrixId: '@Alice:example.org',
		});
		const found = lookup.output('Store')[0];
		expect(found.found).toBe(1);
		expect((found.entries as IDataObject[])[0]).toMatchObject({
			event: 'summit26',
			scope: '',
			state: 'done',
			outcome: 'invited',
			matchedBy: ['matrixId'],
		});
		expect(JSON.stringify(found)).not.toMatch(/alice/i);

		expect(
			(await run({ resource: 'entry', operation: 'forget', personOrderCode: 'e3pzv' })).output(
				'Store',
			),
		).toEqual([{ deleted: 2 }]);
		expect(
			(await run({ resource: 'entry', operation: 'lookup', personOrderCode: 'E3PZV' })).output(
				'Store',
			)[0].found,
		).toBe(0);

		const purge = await run({
			resource: 'event',
			operation: 'purge',
			event: 'summit26',
			purgeMappings: true,
		});
		expect(purge.output('Store')).toEqual([
			{ event: 'summit26', deleted: { ledger: 1, cursors: 1, mappings: 0 } },
		]);
		const stats = await run({ resource: 'event', operation: 'stats', event: 'summit26' });
		expect(stats.output('Store')).toEqual([
			{
				event: 'summit26',
				seen: 3,
				pending: 0,
				invited: 2,
				accepted: 0,
				invalid: 0,
				failed: 0,
				withdrawn: 0,
				held: 0,
			},
		]);
	});
});

describe('backends and credentials', () => {
	test.each([
		['postgres', () => postgresStore()],
		['redis', () => redisStore()],
	])('claim routing works on %s', async (kind, make) => {
		const testStore = make();
		const spec = testStore.spec as { tablePrefix?: string; keyPrefix?: string };
		const pg = new URL(PG_URL);
		const redis = new URL(REDIS_URL);
		credentials = {
			dedupeStoreApi:
				kind === 'postgres'
					? {
							backend: 'postgres',
							pgHost: pg.hostname,
							pgPort: Number(pg.port || 5432),
							pgDatabase: pg.pathname.slice(1),
							pgUser: decodeURIComponent(pg.username),
							pgPassword: decodeURIComponent(pg.password),
							pgTablePrefix: spec.tablePrefix,
							hmacSecret: LEDGER_SECRET,
						}
					: {
							backend: 'redis',
							redisHost: redis.hostname,
							redisPort: Number(redis.port || 6379),
							redisDatabase: Number(redis.pathname.slice(1) || 0),
							redisKeyPrefix: spec.keyPrefix,
							hmacSecret: LEDGER_SECRET,
						},
		};
		try {
			const first = await run({ resource: 'entry', operation: 'claim' }, attendees);
			const second = await run({ resource: 'entry', operation: 'claim' }, attendees);
			expect([first.output('Store', 0).length, first.output('Store', 1).length]).toEqual([3, 0]);
			expect([second.output('Store', 0).length, second.output('Store', 1).length]).toEqual([0, 3]);
		} finally {
			await closeAllLedgers();
			await testStore.cleanup();
		}
	});

	test('an unreachable backend is a clear node error', async () => {
		credentials = {
			dedupeStoreApi: {
				backend: 'redis',
				redisHost: '127.0.0.1',
				redisPort: 1,
				hmacSecret: LEDGER_SECRET,
			},
		};
		const result = await run({ resource: 'entry', operation: 'claim' }, attendees);
		expect(result.status).toBe('error');
		expect(result.error?.message).toBe('The Redis store is unreachable (connection refused)');
		const tolerant = await run({ resource: 'entry', operation: 'claim' }, attendees, {
			continueOnFail: true,
		});
		expect(tolerant.output('Store', 0)).toEqual([]);
		expect(tolerant.output('Store', 1)).toEqual(
			attendees.map(() => ({ error: 'The Redis store is unreachable (connection refused)' })),
		);
	});

	test('the credential test opens the backend and pings it', async () => {
		const test = new DedupeStore().methods.credentialTest.dedupeStoreConnectionTest;
		const call = (data: IDataObject) =>
			test.call({} as never, { id: 'c', name: 'c', type: 'dedupeStoreApi', data: data as never });
		await expect(
			call({
				backend: 'embedded',
				filePath: join(dir, 'probe.sqlite'),
				hmacSecret: LEDGER_SECRET,
			}),
		).resolves.toEqual({ status: 'OK', message: 'Connection successful' });
		await expect(
			call({
				backend: 'postgres',
				pgHost: '127.0.0.1',
				pgPort: 1,
				hmacSecret: LEDGER_SECRET,
			}),
		).resolves.toEqual({
			status: 'Error',
			message: 'The PostgreSQL store is unreachable (connection refused)',
		});
		for (const [hmacSecret, reason] of [
			['12345678', 'must be at least 32 characters long'],
			['replace-with-a-long-random-secret', 'is a placeholder or a well-known value'],
			['a'.repeat(40), 'is too regular'],
		]) {
			const answer = await call({
				backend: 'embedded',
				filePath: join(dir, 'weak.sqlite'),
				hmacSecret,
			});
			expect(answer.status).toBe('Error');
			expect(answer.message).toContain(`The ledger secret (HMAC Secret) ${reason}`);
			expect(answer.message).toContain('openssl rand');
			expect(answer.message).not.toContain(hmacSecret);
		}
		// A refused secret creates no file; a weak previous secret is fine (it is being replaced).
		expect(existsSync(join(dir, 'weak.sqlite'))).toBe(false);
		await expect(
			call({
				backend: 'embedded',
				filePath: join(dir, 'probe.sqlite'),
				hmacSecret: LEDGER_SECRET,
				hmacPreviousSecret: '12345678',
			}),
		).resolves.toEqual({ status: 'OK', message: 'Connection successful' });
		// n8n's own database is never a ledger.
		const n8nDatabase = join(n8nFolder(), 'database.sqlite');
		const own = await call({
			backend: 'embedded',
			filePath: n8nDatabase,
			hmacSecret: LEDGER_SECRET,
		});
		expect(own).toMatchObject({
			status: 'Error',
			message: expect.stringContaining("n8n's own database"),
		});
	});

	test('the default embedded file lives in the n8n user folder', async () => {
		const id = randomBytes(3).toString('hex');
		credentials = { dedupeStoreApi: { backend: 'embedded', hmacSecret: LEDGER_SECRET } };
		const result = await run(
			{ resource: 'entry', operation: 'claim', event: `default-path-${id}` },
			[attendees[0]],
		);
		expect(result.status).toBe('success');
		const { existsSync } = await import('node:fs');
		expect(
			existsSync(join(process.env.N8N_USER_FOLDER!, '.n8n', 'pretix-matrix-ledger.sqlite')),
		).toBe(true);
		await run({ resource: 'event', operation: 'purge', event: `default-path-${id}` });
	});
});
