/**
 * The self-service operations through n8n's engine: Dedupe Store → Invite Code (create, get, list,
 * revoke, redeem → Matrix Invite → Ticket → Record, one room failing), Throttle, Seat Claim and
 * Ticket Token, and Pretix Orders → Order → Get with an order secret — against the fake homeserver,
 * the fake pretix and a real embedded ledger. Each error answer of each operation is checked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { closeAllLedgers } from '../../lib/store';
import { startFakeHomeserver, type FakeHomeserver } from '../fakes/matrix';
import { FAKE_TEAM_TOKEN, startFakePretix, type FakePretix, type StartedFakePretix } from '../fakes/pretix';
import { runWorkflow, wf } from '../harness/engine';

// The embedded ledger may only live where n8n lets nodes write files (lib/store/config.ts).
process.env.N8N_RESTRICT_FILE_ACCESS_TO = tmpdir();

const EVENT = 'exampleorg/summit26';

describe('self-service operations through the engine', () => {
	let hs: FakeHomeserver;
	let dir: string;
	let credentials: Record<string, ICredentialDataDecryptedObject>;
	let rooms: string[];

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		hs.createUser('alice');
		hs.createUser('bob');
		rooms = ['hall', 'workshop', 'locked'].map((alias) => hs.createRoom({ creator: bot.userId, alias: `#${alias}:localhost` }));
		dir = mkdtempSync(join(tmpdir(), 'self-service-engine-'));
		credentials = {
			matrixBotApi: { homeserverUrl: hs.url, authMode: 'accessToken', accessToken: bot.accessToken },
			dedupeStoreApi: { backend: 'embedded', filePath: join(dir, 'ledger.sqlite'), hmacSecret: 'self-service-engine-secret-8d41c7a2' },
		};
	});
	afterEach(async () => {
		await closeAllLedgers();
		await hs.stop();
		rmSync(dir, { recursive: true, force: true });
	});

	const store = (parameters: IDataObject, input?: IDataObject[], extra: { continueOnFail?: boolean } = {}) =>
		runWorkflow({ workflow: wf([{ name: 'Store', type: 'dedupeStore', parameters: parameters as never, credentials: ['dedupeStoreApi'], ...extra }]), credentials, input });

	test('invite codes: create, get (no use counted), list, revoke by id; bad input fails the node or, continuing, the item', async () => {
		const created = await store({ resource: 'inviteCode', operation: 'create', event: EVENT, rooms: rooms.join(', '), usesAllowed: 2, expiresInDays: 7 }, [{ roomId: '!cmd:localhost' }]);
		expect(created.status).toBe('success');
		const code = created.output('Store')[0].inviteCode as IDataObject;
		expect(code).toMatchObject({ event: EVENT, rooms, usesAllowed: 2, uses: 0, status: 'active', summary: expect.stringMatching(/^3 rooms · 0 of 2 uses · expires \d{4}-\d\d-\d\d \d\d:\d\d UTC$/) });
		expect(created.output('Store')[0].roomId).toBe('!cmd:localhost');
		const got = await store({ resource: 'inviteCode', operation: 'get', code: String(code.code).toLowerCase() });
		expect(got.output('Store')[0].inviteCode).toMatchObject({ found: true, id: code.id, uses: 0 });
		expect((await store({ resource: 'inviteCode', operation: 'get', code: 'ZZZZ-ZZZZ-ZZZZ' })).output('Store')[0].inviteCode).toEqual({ found: false });
		const listed = await store({ resource: 'inviteCode', operation: 'list', events: `${EVENT}, exampleorg/other` });
		expect(listed.output('Store').map((c) => [c.id, c.uses])).toEqual([[code.id, 0]]);
		expect(JSON.stringify(listed.output('Store'))).not.toContain(String(code.code));
		// Only within the events given: another event's moderator cannot revoke it.
		expect((await store({ resource: 'inviteCode', operation: 'revoke', code: code.id, events: 'exampleorg/other' })).output('Store')[0].inviteCode).toEqual({ revoked: false });
		expect((await store({ resource: 'inviteCode', operation: 'revoke', code: code.id, events: EVENT })).output('Store')[0].inviteCode).toMatchObject({ revoked: true, status: 'revoked' });

		const bad = await store({ resource: 'inviteCode', operation: 'create', event: EVENT, rooms: 'not-a-room' });
		expect([bad.status, bad.error?.message]).toEqual(['error', 'Each room must be a room ID (!…), an alias (#name:server) or a matrix.to / matrix: link to one']);
		const tolerant = await store({ resource: 'inviteCode', operation: 'create', event: EVENT, rooms: '={{ $json.rooms }}' }, [{ rooms: [] }, { rooms: [rooms[0]] }], { continueOnFail: true });
		expect(tolerant.output('Store').map((o) => o.error ?? (o.inviteCode as IDataObject).status)).toEqual(['Name at least one room (room ID or alias)', 'active']);
	});

	test('redeem → Matrix Invite → Ticket Record → Summarize: 3 rooms, one failing; the other two invited; again: nothing new; used up and unknown are refused', async () => {
		const created = await store({ resource: 'inviteCode', operation: 'create', event: EVENT, rooms: rooms.join(','), usesAllowed: 1 });
		const code = String((created.output('Store')[0].inviteCode as IDataObject).code);
		// The bot may not invite into the third room.
		hs.setPowerLevels(rooms[2], { invite: 100, users: { [hs.createUser('owner').userId]: 100 } });
		const flow = wf(
			[
				{ name: 'Redeem', type: 'dedupeStore', parameters: { resource: 'inviteCode', operation: 'redeem', code: '={{ $json.code }}', userId: '={{ $json.sender }}' } as never, credentials: ['dedupeStoreApi'] },
				{ name: 'Invite', type: 'matrixInvite', parameters: { operation: 'invite', rooms: '={{ $json.plan.room }}', userId: '={{ $json.plan.userId }}' } as never, credentials: ['matrixBotApi'] },
				{ name: 'Record', type: 'dedupeStore', parameters: { resource: 'ticket', operation: 'record' } as never, credentials: ['dedupeStoreApi'] },
			],
			[
				['Redeem', 'Invite', 0],
				['Invite', 'Record', 0],
			],
		);
		const first = await runWorkflow({ workflow: flow, credentials, input: [{ code, sender: '@alice:localhost' }] });
		expect(first.status).toBe('success');
		expect(first.output('Invite').map((o) => (o.matrix as IDataObject).status)).toEqual(['invited', 'invited', 'notPermitted']);
		expect(first.output('Record').map((o) => (o.dedupe as IDataObject).recorded)).toEqual(['invited', 'invited', 'failed']);
		expect(rooms.map((r) => hs.membership(r, '@alice:localhost') ?? 'none')).toEqual(['invite', 'invite', 'none']);
		const again = await runWorkflow({ workflow: flow, credentials, input: [{ code, sender: '@alice:localhost' }] });
		expect(again.output('Redeem', 1).map((o) => [(o.redeem as IDataObject).status, (o.plan as IDataObject).reason])).toEqual([
			['again', 'already:invited'],
			['again', 'already:invited'],
			['again', 'already:notPermitted'],
		]);
		expect(hs.inviteCount(rooms[0], '@alice:localhost')).toBe(1);
		const bob = await runWorkflow({ workflow: flow, credentials, input: [{ code, sender: '@bob:localhost' }, { code: 'NOPE-NOPE-NOPE', sender: '@bob:localhost' }] });
		expect(bob.output('Redeem', 2).map((o) => (o.redeem as IDataObject).status)).toEqual(['usedUp', 'unknown']);
		expect(rooms.map((r) => hs.membership(r, '@bob:localhost') ?? 'none')).toEqual(['none', 'none', 'none']);
		const malformed = await runWorkflow({ workflow: flow, credentials, input: [{ code, sender: 'bob' }] });
		expect(malformed.error?.message).toBe('The Matrix ID of the person redeeming is missing or malformed');
	});

	test('throttle: Allowed until the limit, then Throttled; an unusable limit fails the node', async () => {
		const params = { resource: 'throttle', operation: 'count', events: EVENT, sender: '={{ $json.sender }}', orderCode: '={{ $json.code }}', maxAttempts: 2, windowMinutes: 60 };
		const run = await store(params, [{ sender: '@alice:localhost', code: 'AAAA1' }, { sender: '@alice:localhost', code: 'AAAA2' }, { sender: '@alice:localhost', code: 'AAAA3' }, { sender: '@bob:localhost', code: 'BBBB1' }]);
		expect(run.output('Store', 0).map((o) => [o.code, (o.throttle as IDataObject).attempts])).toEqual([['AAAA1', 1], ['AAAA2', 2], ['BBBB1', 1]]);
		expect(run.output('Store', 1).map((o) => [o.code, o.throttle])).toEqual([['AAAA3', { allowed: false, attempts: 3 }]]);
		const bad = await store({ ...params, windowMinutes: 0 }, [{ sender: '@alice:localhost', code: 'X' }]);
		expect(bad.error?.message).toBe('The throttle window must be at least one second');
	});

	test('seat claim: one seat per account and order; Claimed and Refused outputs; missing sender fails the node', async () => {
		const tickets = (access = 'granted') => [5101, 5102].map((positionId) => ({ organizer: 'exampleorg', event: 'summit26', orderCode: 'GRP01', positionId, access, addonTo: null, matrixId: null }));
		const claim = (sender: string, input = tickets(), moveSeat = false) => store({ resource: 'seatClaim', operation: 'claim', userId: sender, moveSeat }, input);
		const alice = await claim('@alice:localhost');
		expect(alice.output('Store', 0).map((o) => [o.positionId, (o.seat as IDataObject).status])).toEqual([[5101, 'claimed']]);
		expect(alice.output('Store', 1).map((o) => [o.positionId, (o.seat as IDataObject).status])).toEqual([[5102, 'notChosen']]);
		expect((await claim('@bob:localhost')).output('Store', 0).map((o) => o.positionId)).toEqual([5102]);
		const carol = await claim('@carol:localhost');
		expect(carol.output('Store', 0)).toEqual([]);
		expect(carol.output('Store', 1).map((o) => (o.seat as IDataObject).status)).toEqual(['takenByOther', 'takenByOther']);
		expect((await claim('@carol:localhost', tickets(), true)).output('Store', 0).map((o) => (o.seat as IDataObject).status)).toEqual(['moved']);
		expect((await claim('@dave:localhost', tickets('revoked'))).output('Store', 1).map((o) => (o.seat as IDataObject).status)).toEqual(['noAccess', 'noAccess']);
		const missing = await claim('');
		expect(missing.error?.message).toBe('The Matrix ID of the sender is missing');
	});

	test('ticket tokens: plan (Create / Delete / Unchanged), record, list; an item without a step fails Record', async () => {
		const attendees = [
			{ organizer: 'exampleorg', event: 'summit26', orderCode: 'NOACC', positionId: 6001, access: 'granted', matrixId: null },
			{ organizer: 'exampleorg', event: 'summit26', orderCode: 'HASID', positionId: 6002, access: 'granted', matrixId: '@alice:localhost' },
		];
		const plan = await store({ resource: 'ticketToken', operation: 'plan' }, attendees);
		expect(plan.output('Store', 0).map((o) => [o.positionId, (o.tokenStep as IDataObject).reason])).toEqual([[6001, 'newTicket']]);
		expect(plan.output('Store', 2).map((o) => [o.positionId, (o.tokenStep as IDataObject).reason])).toEqual([[6002, 'hasAccount']]);
		const recorded = await store({ resource: 'ticketToken', operation: 'record', status: 'sent', token: 'ticket-EngineTok1' }, plan.output('Store', 0));
		expect(recorded.output('Store')[0].dedupe).toEqual({ recorded: 'sent' });
		expect((await store({ resource: 'ticketToken', operation: 'list', events: EVENT })).output('Store')).toEqual([{ event: EVENT, token: 'ticket-EngineTok1' }]);
		const canceled = await store({ resource: 'ticketToken', operation: 'plan' }, [{ ...attendees[0], access: 'revoked' }]);
		expect(canceled.output('Store', 1).map((o) => (o.tokenStep as IDataObject).token)).toEqual(['ticket-EngineTok1']);
		const noStep = await store({ resource: 'ticketToken', operation: 'record', status: 'sent' }, [{ nothing: true }]);
		expect(noStep.error?.message).toBe('The item has no token step (the output of Ticket Token → Plan)');
	});
});

describe('Pretix Orders → Order → Get with an order secret', () => {
	let fake: StartedFakePretix & FakePretix;
	beforeEach(async () => (fake = await startFakePretix()));
	afterEach(() => fake.stop());

	const get = (code: string, orderSecret: string) =>
		runWorkflow({ workflow: wf([{ name: 'Orders', type: 'pretixOrders', parameters: { authentication: 'pretixApi', resource: 'order', operation: 'get', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26', code, orderSecret, attendeeOptions: { includeInactive: true } } as never, credentials: ['pretixApi'] }]), credentials: { pretixApi: { url: fake.url, apiToken: FAKE_TEAM_TOKEN } } });

	test('the right secret returns the attendees; a wrong one fails exactly like an unknown order code, naming neither', async () => {
		const secret = String((fake.findOrder('ABC3K', 'exampleorg', 'summit26') as IDataObject).secret);
		const right = await get('ABC3K', secret);
		expect(right.output('Orders').map((a) => a.positionId)).toEqual([5001]);
		const wrong = await get('ABC3K', `${secret.slice(0, -1)}x`);
		const unknown = await get('ZZZZZ', secret);
		expect(wrong.status).toBe('error');
		expect({ message: wrong.error?.message, httpCode: wrong.error?.httpCode }).toEqual({ message: unknown.error?.message, httpCode: unknown.error?.httpCode });
		expect(wrong.error?.httpCode).toBe('404');
		for (const text of [JSON.stringify(wrong.error), JSON.stringify(unknown.error)]) {
			expect(text).not.toContain(secret);
			expect(text).not.toContain('ABC3K');
		}
	});
});
