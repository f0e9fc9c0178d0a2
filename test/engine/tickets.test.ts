/**
 * Dedupe Store → Ticket through n8n's engine, wired as the templates wire it: MXID Validate (one
 * output) → Plan (Invite / Withdraw / Report / Unchanged) → Matrix Invite → Record (four inputs),
 * against the fake homeserver and a real ledger. Asserts who is invited and who is removed at the
 * homeserver — and who is not — and that Record runs once, after every branch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

import type { ICredentialDataDecryptedObject, IDataObject, INode } from 'n8n-workflow';

import { closeAllLedgers } from '../../lib/store';
import { startFakeHomeserver, type FakeHomeserver } from '../fakes/matrix';
import { PACKAGE_NAME, runWorkflow, type WorkflowJson } from '../harness/engine';

const EVENT = { organizer: 'exampleorg', event: 'summit26' };
// The embedded ledger may only live where n8n lets nodes write files (lib/store/config.ts).
process.env.N8N_RESTRICT_FILE_ACCESS_TO = tmpdir();

function attendee(positionId: number, access: string, matrixId: string | null, extra: IDataObject = {}): IDataObject {
	return { ...EVENT, orderCode: `ORD${positionId}`, positionId, positionNumber: 1, itemId: 201, variationId: null, subeventId: null, addonTo: null, matrixId, access, accessReason: access === 'granted' ? 'paid' : access === 'revoked' ? 'orderCanceled' : 'awaitingPayment', ...extra };
}

/** The templates' pipeline, with the organizers' room for reports. */
function pipeline(organizersRoom: string, planOptions: IDataObject = {}): WorkflowJson {
	const node = (name: string, type: string, parameters: IDataObject, credential?: string): INode => ({
		id: randomUUID(),
		name,
		type: `${PACKAGE_NAME}.${type}`,
		typeVersion: 1,
		position: [0, 0],
		parameters: parameters as never,
		...(credential ? { credentials: { [credential]: { id: `cred-${credential}`, name: credential } } } : {}),
	});
	const to = (target: string, index = 0) => ({ node: target, type: 'main' as never, index });
	return {
		nodes: [
			node('Validate', 'mxidValidate', { field: 'matrixId', invalidOutput: 'same' }),
			node('Plan', 'dedupeStore', { resource: 'ticket', operation: 'plan', planOptions }, 'dedupeStoreApi'),
			node('Invite', 'matrixInvite', { operation: 'invite', rooms: '={{ $json.plan.room }}', userId: '={{ $json.plan.userId }}' }, 'matrixBotApi'),
			node('Withdraw', 'matrixInvite', { operation: 'revoke', rooms: '={{ $json.plan.room }}', userId: '={{ $json.plan.userId }}', options: { keepMembers: '={{ !$json.plan.removeMember }}' } }, 'matrixBotApi'),
			node('Report', 'matrixInvite', { operation: 'message', room: organizersRoom, combine: true, heading: 'Unusable IDs:', text: '={{ $json.orderCode }} · {{ $json.plan.invalidReason }}' }, 'matrixBotApi'),
			node('Record', 'dedupeStore', { resource: 'ticket', operation: 'record' }, 'dedupeStoreApi'),
		],
		connections: {
			Validate: { main: [[to('Plan')]] },
			Plan: { main: [[to('Invite')], [to('Withdraw')], [to('Report')], [to('Record', 3)]] },
			Invite: { main: [[to('Record', 0)]] },
			Withdraw: { main: [[to('Record', 1)]] },
			Report: { main: [[to('Record', 2)]] },
		},
		settings: { executionOrder: 'v1' },
	};
}

describe('tickets through the engine', () => {
	let hs: FakeHomeserver;
	let dir: string;
	let room: string;
	let workshop: string;
	let organizers: string;
	let credentials: Record<string, ICredentialDataDecryptedObject>;
	const people = ['alice', 'mallory', 'bob', 'frank', 'outsider'].map((name) => `@${name}:localhost`);
	const [ALICE, MALLORY, BOB, FRANK, OUTSIDER] = people;

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		for (const id of people) hs.createUser(id);
		room = hs.createRoom({ creator: bot.userId, alias: '#attendees:localhost' });
		workshop = hs.createRoom({ creator: bot.userId, alias: '#workshop:localhost' });
		organizers = hs.createRoom({ creator: bot.userId, alias: '#orga:localhost' });
		dir = mkdtempSync(join(tmpdir(), 'tickets-engine-'));
		credentials = {
			matrixBotApi: { homeserverUrl: hs.url, authMode: 'accessToken', accessToken: bot.accessToken },
			dedupeStoreApi: { backend: 'embedded', filePath: join(dir, 'ledger.sqlite'), hmacSecret: 'tickets-engine-secret-5c1e9a7b3d2f8e60' },
		};
		// The mappings: every ticket of the event into the attendees' room, the workshop add-on (item 203) also into the workshop room.
		await runWorkflow({
			workflow: {
				nodes: [
					{ id: randomUUID(), name: 'Map', type: `${PACKAGE_NAME}.dedupeStore`, typeVersion: 1, position: [0, 0], parameters: { resource: 'roomMapping', operation: 'set', event: '={{ $json.event }}', room: '={{ $json.room }}', item: '={{ $json.item }}' }, credentials: { dedupeStoreApi: { id: 'c', name: 'c' } } },
				],
				connections: {},
				settings: { executionOrder: 'v1' },
			},
			credentials,
			input: [
				{ event: 'exampleorg/summit26', room, item: '' },
				{ event: 'exampleorg/summit26', room: workshop, item: '203' },
			],
		});
	});
	afterEach(async () => {
		await closeAllLedgers();
		await hs.stop();
		rmSync(dir, { recursive: true, force: true });
	});

	const run = async (input: IDataObject[], planOptions: IDataObject = {}) => {
		const result = await runWorkflow({ workflow: pipeline(organizers, planOptions), credentials, input });
		expect({ status: result.status, error: result.error?.message }).toEqual({ status: 'success', error: undefined });
		return result;
	};
	const membership = (roomId: string) => Object.fromEntries(people.map((p) => [p, hs.membership(roomId, p) ?? 'none']));

	test('Record runs once, after all branches, and sees every step', async () => {
		hs.setMembership(room, MALLORY, 'invite');
		const result = await run([attendee(1, 'granted', ALICE), attendee(2, 'granted', 'not an id'), attendee(3, 'pending', BOB)]);
		expect(result.executionOrder.filter((n) => n === 'Record')).toHaveLength(1);
		const recorded = result.output('Record').map((o) => [(o.plan as IDataObject).action, (o.dedupe as IDataObject).recorded]);
		expect(recorded).toEqual([
			['invite', 'invited'],
			['report', 'reported'],
			['skip', 'skipped'],
		]);
		expect(hs.inviteCount(room, ALICE)).toBe(1);
		expect(membership(room)).toMatchObject({ [BOB]: 'none', [OUTSIDER]: 'none', [MALLORY]: 'invite' });
	});

	test('a batch in chunks (a Summary per chunk, then Add Up Chunk Summaries) counts what one Summary over every ticket counts', async () => {
		const tickets = [attendee(1, 'granted', ALICE), attendee(2, 'granted', 'not an id'), attendee(3, 'pending', BOB), attendee(4, 'granted', FRANK), attendee(5, 'revoked', null), attendee(6, 'granted', MALLORY)];
		const withSummary = (name: string, parameters: IDataObject): WorkflowJson => {
			const workflow = pipeline(organizers);
			workflow.nodes.push({ id: randomUUID(), name, type: `${PACKAGE_NAME}.dedupeStore`, typeVersion: 1, position: [0, 0], parameters: { resource: 'ticket', operation: 'summarize', ...parameters } as never, credentials: { dedupeStoreApi: { id: 'c', name: 'c' } } });
			workflow.connections.Record = { main: [[{ node: name, type: 'main' as never, index: 0 }]] };
			return workflow;
		};
		const chunks = [];
		for (const chunk of [tickets.slice(0, 4), tickets.slice(4)]) {
			const result = await runWorkflow({ workflow: withSummary('Chunk summary', {}), credentials, input: chunk });
			expect(result.status).toBe('success');
			chunks.push(...result.output('Chunk summary'));
		}
		const addUp = await runWorkflow({
			workflow: { nodes: [{ id: randomUUID(), name: 'Summary', type: `${PACKAGE_NAME}.dedupeStore`, typeVersion: 1, position: [0, 0], parameters: { resource: 'ticket', operation: 'summarize', addUp: true } as never, credentials: { dedupeStoreApi: { id: 'c', name: 'c' } } }], connections: {}, settings: { executionOrder: 'v1' } },
			credentials,
			// The event list reaches Summary too (All done): it is not a summary and is ignored.
			input: [{ event: 'exampleorg/summit26' }, ...chunks],
		});
		const total = addUp.output('Summary');
		expect(total).toHaveLength(1);
		expect(total[0]).toMatchObject({ tickets: 6, invited: 3, pending: 1, invalid: 1, failed: 0 });
		expect((total[0].invalidTickets as IDataObject[]).map((t) => t.orderCode)).toEqual(['ORD2']);
		for (const id of [ALICE, FRANK, MALLORY]) expect(hs.inviteCount(room, id)).toBe(1);
	});

	test('a stranger\'s unpaid order naming a real attendee removes nobody; its cancellation neither (case 1)', async () => {
		await run([attendee(1, 'granted', ALICE)]);
		hs.setMembership(room, ALICE, 'join');
		await run([attendee(666, 'pending', ALICE)]);
		await run([attendee(666, 'revoked', ALICE)]);
		expect(membership(room)[ALICE]).toBe('join');
	});

	test('two tickets of one person: one canceled keeps her in, both canceled removes her; nobody else touched (case 1)', async () => {
		await run([attendee(1, 'granted', ALICE), attendee(18, 'granted', ALICE), attendee(4, 'granted', FRANK)]);
		expect(hs.inviteCount(room, ALICE)).toBe(1);
		hs.setMembership(room, ALICE, 'join');
		hs.setMembership(room, FRANK, 'join');
		await run([attendee(1, 'revoked', ALICE)]);
		expect(membership(room)).toMatchObject({ [ALICE]: 'join', [FRANK]: 'join' });
		await run([attendee(18, 'revoked', ALICE)]);
		expect(membership(room)).toMatchObject({ [ALICE]: 'leave', [FRANK]: 'join', [OUTSIDER]: 'none' });
	});

	test('a member who was there before any ticket is not removed by a canceled ticket naming her', async () => {
		hs.setMembership(room, MALLORY, 'join');
		await run([attendee(7, 'granted', MALLORY)]);
		await run([attendee(7, 'revoked', MALLORY)]);
		expect(membership(room)[MALLORY]).toBe('join');
	});

	test('a changed answer withdraws the old ID\'s pending invite and invites the new ID (case 6)', async () => {
		await run([attendee(1, 'granted', ALICE)]);
		expect(membership(room)[ALICE]).toBe('invite');
		await run([attendee(1, 'granted', BOB)]);
		expect(membership(room)).toMatchObject({ [ALICE]: 'leave', [BOB]: 'invite', [OUTSIDER]: 'none' });
		// A joined old ID stays unless the option says otherwise.
		hs.setMembership(room, BOB, 'join');
		await run([attendee(1, 'granted', FRANK)]);
		expect(membership(room)).toMatchObject({ [BOB]: 'join', [FRANK]: 'invite' });
		hs.setMembership(room, FRANK, 'join');
		await run([attendee(1, 'granted', MALLORY)], { removeChangedMember: true });
		expect(membership(room)).toMatchObject({ [FRANK]: 'leave', [MALLORY]: 'invite' });
	});

	test('an add-on invites into its own room; canceling it removes that room only (case 7)', async () => {
		await run([attendee(6, 'granted', FRANK), attendee(9, 'granted', FRANK, { itemId: 203, addonTo: 6 })]);
		expect([hs.membership(room, FRANK), hs.membership(workshop, FRANK)]).toEqual(['invite', 'invite']);
		expect(hs.inviteCount(room, FRANK)).toBe(1);
		await run([attendee(6, 'granted', FRANK), attendee(9, 'revoked', FRANK, { itemId: 203, addonTo: 6 })]);
		expect([hs.membership(room, FRANK), hs.membership(workshop, FRANK)]).toEqual(['invite', 'leave']);
	});

	test('someone who left is invited again only with "Invite Again Who Left" (case 8)', async () => {
		await run([attendee(1, 'granted', ALICE)]);
		hs.setMembership(room, ALICE, 'leave', { sender: ALICE });
		await run([attendee(1, 'granted', ALICE)]);
		expect(hs.membership(room, ALICE)).toBe('leave');
		await run([attendee(1, 'granted', ALICE)], { reinviteLeft: true });
		expect(hs.membership(room, ALICE)).toBe('invite');
		expect(hs.inviteCount(room, ALICE)).toBe(2);
	});

	test('an unusable ID is reported once in one message to the organizers, by order code only', async () => {
		const input = [attendee(10, 'granted', '@ken smith:example.org'), attendee(11, 'granted', '@judy')];
		await run(input);
		await run(input);
		const notices = hs.timeline(organizers, 'm.room.message').map((e) => String((e.content as IDataObject).body));
		expect(notices).toHaveLength(1);
		expect(notices[0]).toContain('ORD10');
		expect(notices[0]).toContain('ORD11');
		expect(notices[0]).not.toContain('ken');
		expect(notices[0]).not.toContain('judy');
	});
});
