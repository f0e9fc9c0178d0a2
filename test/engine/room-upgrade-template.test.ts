/**
 * workflows/room-mapping.json's room-upgrade branch through n8n's engine: its nodes as the template
 * has them (Commands with Follow Room Upgrades → Follow room upgrade → Notice: room upgraded, and
 * → Plan upgrade invites → Invite into new room → Record upgrade invites) behind a real Matrix
 * Command Trigger. The template's Switch (a built-in n8n node this harness does not
 * load) is left out: it routes `kind: roomUpgrade` items to this branch. The notice's room is the
 * template's placeholder, here replaced by a real organizers' room.
 * Spec "Room Upgrades": the old room's m.room.tombstone (state key "") names `replacement_room`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { closeAllLedgers } from '../../lib/store';
import { startFakeHomeserver, type FakeHomeserver } from '../fakes/matrix';
import { runWorkflow, startTrigger, wf, type TriggerHandle } from '../harness/engine';

const template = JSON.parse(
	readFileSync(path.join(__dirname, '../../workflows/room-mapping.json'), 'utf8'),
) as { nodes: Array<{ name: string; type: string; parameters: IDataObject; credentials?: object }> };
const fromTemplate = (name: string, override: IDataObject = {}) => {
	const node = template.nodes.find((n) => n.name === name)!;
	return {
		name,
		type: node.type.replace(/^n8n-nodes-pretix-matrix\./, ''),
		parameters: { ...node.parameters, ...override } as never,
		credentials: Object.keys(node.credentials ?? {}),
	};
};

/** The template's links of the branch (its Switch left out). */
const UPGRADE_INVITES = ['Plan upgrade invites', 'Invite into new room', 'Record upgrade invites'];
const UPGRADE_LINKS: Array<[string, string]> = [
	['Commands', 'Follow room upgrade'],
	['Follow room upgrade', 'Notice: room upgraded'],
	['Follow room upgrade', 'Plan upgrade invites'],
	['Plan upgrade invites', 'Invite into new room'],
	['Invite into new room', 'Record upgrade invites'],
];

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error('condition not reached in time');
		await new Promise((r) => setTimeout(r, 20));
	}
}

// The tests' ledger files live in the temporary folder, allowed as an operator would allow it.
process.env.N8N_RESTRICT_FILE_ACCESS_TO = tmpdir();

describe('room-mapping template: room upgrades', () => {
	let hs: FakeHomeserver;
	let dir: string;
	let creds: Record<string, ICredentialDataDecryptedObject>;
	const handles: TriggerHandle[] = [];

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		dir = mkdtempSync(path.join(tmpdir(), 'upgrade-template-'));
	});
	afterEach(async () => {
		for (const h of handles.splice(0)) await h.close();
		await closeAllLedgers();
		await hs.stop();
		rmSync(dir, { recursive: true, force: true });
	});

	test('a tombstone in a mapped room: the bot joins the new room, the mappings move, the organizers get one notice', async () => {
		const bot = hs.createUser('bot');
		const mod = hs.createUser('mod');
		const attendee = hs.createUser('attendee');
		creds = {
			matrixBotApi: { homeserverUrl: hs.url, authMode: 'accessToken', accessToken: bot.accessToken },
			dedupeStoreApi: { backend: 'embedded', filePath: path.join(dir, 'ledger.sqlite'), hmacSecret: 'm_w6qQILCMZEz1g5yN-yQgINChuGIX78' },
		};
		const organizers = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		const oldRoom = hs.createRoom({ creator: mod.userId, members: [bot.userId, attendee.userId] });
		const newRoom = hs.createRoom({ creator: mod.userId, preset: 'public_chat' });
		const otherRoom = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		const map = async (event: string, room: string) => {
			const run = await runWorkflow({
				workflow: wf([{ name: 'Map', type: 'dedupeStore', parameters: { resource: 'roomMapping', operation: 'set', event, room } as never, credentials: ['dedupeStoreApi'] }]),
				credentials: creds,
			});
			expect(run.status).toBe('success');
		};
		await map('acme/summit26', oldRoom);
		await map('acme/other26', otherRoom);

		const t = await startTrigger({
			workflow: wf([
				fromTemplate('Commands'),
				fromTemplate('Follow room upgrade'),
				fromTemplate('Notice: room upgraded', { room: organizers }),
				...UPGRADE_INVITES.map((name) => fromTemplate(name)),
			], UPGRADE_LINKS),
			node: 'Commands',
			credentials: creds,
		});
		handles.push(t);
		await until(() => hs.countRequests({ path: /\/sync$/ }) >= 2);
		hs.setState(oldRoom, 'm.room.tombstone', { body: 'This room has been replaced', replacement_room: newRoom }, { sender: mod.userId });

		const notices = () => hs.timeline(organizers, 'm.room.message').filter((e) => e.sender === bot.userId);
		await until(() => t.runs.length === 1 && notices().length === 1);
		expect(t.runs[0].status).toBe('success');
		expect(notices()[0].content).toMatchObject({
			msgtype: 'm.notice',
			body: `A mapped room was upgraded: ${oldRoom} is replaced by ${newRoom}. 1 mapping and 0 invite records moved to the new room. The bot joined the new room. 0 people who had access in the old room (a valid ticket) are invited to the new one, each once; others there need an invite from a moderator.`,
		});
		expect(hs.membership(newRoom, bot.userId)).toBe('join');

		const list = await runWorkflow({
			workflow: wf([{ name: 'List', type: 'dedupeStore', parameters: { resource: 'roomMapping', operation: 'list' } as never, credentials: ['dedupeStoreApi'] }]),
			credentials: creds,
		});
		expect(list.output('List').map((m) => `${m.event}>${m.room}`).sort()).toEqual([`acme/other26>${otherRoom}`, `acme/summit26>${newRoom}`].sort());
		// Nobody else was touched: no message into the old, new or other room, the attendee not invited anywhere.
		for (const room of [oldRoom, newRoom, otherRoom]) expect(hs.timeline(room, 'm.room.message')).toEqual([]);
		expect(hs.membership(newRoom, attendee.userId)).toBeUndefined();
	});

	test('people who had access in the old room are invited into the new one, once; nobody else is touched', async () => {
		const bot = hs.createUser('bot');
		const mod = hs.createUser('mod');
		const [alice, bob, carol, dave, erin] = ['alice', 'bob', 'carol', 'dave', 'erin'].map((name) => hs.createUser(name).userId);
		creds = {
			matrixBotApi: { homeserverUrl: hs.url, authMode: 'accessToken', accessToken: bot.accessToken },
			dedupeStoreApi: { backend: 'embedded', filePath: path.join(dir, 'ledger.sqlite'), hmacSecret: 'm_w6qQILCMZEz1g5yN-yQgINChuGIX78' },
		};
		const organizers = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		const oldRoom = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		const otherRoom = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		const newRoom = hs.createRoom({ creator: mod.userId, preset: 'public_chat' });
		// An upgrade copies the old room's power levels (Synapse: /upgrade): the bot may invite there too.
		for (const room of [oldRoom, otherRoom, newRoom]) hs.setPowerLevel(room, bot.userId, 100);
		const mapRun = await runWorkflow({
			workflow: wf([{ name: 'Map', type: 'dedupeStore', parameters: { resource: 'roomMapping', operation: 'set', event: '={{ $json.event }}', room: '={{ $json.room }}' } as never, credentials: ['dedupeStoreApi'] }]),
			credentials: creds,
			input: [
				{ event: 'acme/summit26', room: oldRoom },
				{ event: 'acme/other26', room: otherRoom },
			],
		});
		expect(mapRun.status).toBe('success');

		// Tickets through the templates' pipeline: Alice (joins), Bob (invite pending), Dave (joins,
		// then his order is canceled and he is withdrawn) in the old room; Erin in the other room.
		const tickets = async (input: IDataObject[]) => {
			const run = await runWorkflow({ workflow: ticketPipeline(), credentials: creds, input });
			expect({ status: run.status, error: run.error?.message }).toEqual({ status: 'success', error: undefined });
		};
		await tickets([attendee(1, 'summit26', 'granted', alice), attendee(2, 'summit26', 'granted', bob), attendee(3, 'summit26', 'granted', dave), attendee(4, 'other26', 'granted', erin)]);
		hs.setMembership(oldRoom, alice, 'join', { sender: alice });
		hs.setMembership(oldRoom, dave, 'join', { sender: dave });
		await tickets([attendee(3, 'summit26', 'revoked', dave)]);
		expect(hs.membership(oldRoom, dave)).toBe('leave');
		// Carol is in the old room without a ticket.
		hs.setMembership(oldRoom, carol, 'join');
		expect([alice, bob, carol].map((p) => hs.membership(oldRoom, p))).toEqual(['join', 'invite', 'join']);

		const t = await startTrigger({
			workflow: wf(
				[
					fromTemplate('Commands'),
					fromTemplate('Follow room upgrade'),
					fromTemplate('Notice: room upgraded', { room: organizers }),
					...UPGRADE_INVITES.map((name) => fromTemplate(name)),
				],
				UPGRADE_LINKS,
			),
			node: 'Commands',
			credentials: creds,
		});
		handles.push(t);
		await until(() => hs.countRequests({ path: /\/sync$/ }) >= 2);
		hs.setState(oldRoom, 'm.room.tombstone', { body: 'This room has been replaced', replacement_room: newRoom }, { sender: mod.userId });

		const notices = () => hs.timeline(organizers, 'm.room.message').filter((e) => e.sender === bot.userId);
		await until(() => t.runs.length === 1 && notices().length === 1);
		expect({ status: t.runs[0].status, error: t.runs[0].error?.message }).toEqual({ status: 'success', error: undefined });
		expect(String((notices()[0].content as IDataObject).body)).toContain('2 people who had access in the old room (a valid ticket) are invited to the new one, each once');
		expect(t.runs[0].output('Record upgrade invites').map((o) => (o.dedupe as IDataObject).recorded)).toEqual(['invited', 'invited']);

		// Alice (joined) and Bob (invite pending) had access: invited into the new room, once each.
		expect([alice, bob].map((p) => [hs.membership(newRoom, p), hs.inviteCount(newRoom, p)])).toEqual([
			['invite', 1],
			['invite', 1],
		]);
		// Who else is touched: Carol (no ticket), Dave (ticket withdrawn), Erin (another room's attendee), the moderator.
		for (const p of [carol, dave, erin, mod.userId]) expect([p, hs.inviteCount(newRoom, p)]).toEqual([p, 0]);
		expect([carol, dave, erin].map((p) => hs.membership(newRoom, p))).toEqual([undefined, undefined, undefined]);
		// The old and the other room unchanged.
		expect([alice, bob, carol, dave].map((p) => hs.membership(oldRoom, p))).toEqual(['join', 'invite', 'join', 'leave']);
		expect([hs.membership(otherRoom, erin), hs.inviteCount(otherRoom, erin)]).toEqual(['invite', 1]);
		// The invite text names the reason, no attendee reads an ID or order code in any room.
		for (const room of [oldRoom, newRoom, otherRoom]) expect(hs.timeline(room, 'm.room.message')).toEqual([]);

		// The tombstone handled again, twice at once (a restart, two workers): nobody is invited again.
		const again = () =>
			runWorkflow({
				workflow: wf([fromTemplate('Follow room upgrade'), ...UPGRADE_INVITES.map((name) => fromTemplate(name))]),
				credentials: creds,
				input: [{ roomId: oldRoom, replacementRoom: newRoom }],
			});
		const runs = await Promise.all([again(), again()]);
		expect(runs.map((r) => r.status)).toEqual(['success', 'success']);
		expect(runs.map((r) => r.output('Plan upgrade invites').length)).toEqual([0, 0]);
		expect([alice, bob].map((p) => hs.inviteCount(newRoom, p))).toEqual([1, 1]);
		// A later batch of the event agrees: both already invited into the new room, Dave withdrawn.
		const batch = await runWorkflow({ workflow: ticketPipeline(), credentials: creds, input: [attendee(1, 'summit26', 'granted', alice), attendee(2, 'summit26', 'granted', bob), attendee(3, 'summit26', 'revoked', dave)] });
		expect(batch.status).toBe('success');
		expect(batch.output('Record').map((o) => `${(o.plan as IDataObject).action}:${(o.plan as IDataObject).reason}`)).toEqual(['skip:already:invited', 'skip:already:invited', 'skip:nothingGranted']);
		expect([alice, bob, carol, dave].map((p) => hs.inviteCount(newRoom, p))).toEqual([1, 1, 0, 0]);
	});
});

function attendee(positionId: number, event: string, access: string, matrixId: string): IDataObject {
	return { organizer: 'acme', event, orderCode: `ORD${positionId}`, positionId, positionNumber: 1, itemId: 201, variationId: null, subeventId: null, addonTo: null, matrixId, access, accessReason: access === 'granted' ? 'paid' : 'orderCanceled' };
}

/** The webhook and batch templates' ticket pipeline: MXID Validate → Plan → Invite / Withdraw → Record. */
function ticketPipeline() {
	const spec = (name: string, type: string, parameters: IDataObject, credential: string) => ({ name, type, parameters: parameters as never, credentials: [credential] });
	const workflow = wf(
		[
			{ name: 'Validate', type: 'mxidValidate', parameters: { field: 'matrixId', invalidOutput: 'same' } as never },
			spec('Plan', 'dedupeStore', { resource: 'ticket', operation: 'plan' }, 'dedupeStoreApi'),
			spec('Invite', 'matrixInvite', { operation: 'invite', rooms: '={{ $json.plan.room }}', userId: '={{ $json.plan.userId }}' }, 'matrixBotApi'),
			spec('Withdraw', 'matrixInvite', { operation: 'revoke', rooms: '={{ $json.plan.room }}', userId: '={{ $json.plan.userId }}', options: { keepMembers: '={{ !$json.plan.removeMember }}' } }, 'matrixBotApi'),
			spec('Record', 'dedupeStore', { resource: 'ticket', operation: 'record' }, 'dedupeStoreApi'),
		],
		[
			['Validate', 'Plan'],
			['Plan', 'Invite', 0],
			['Plan', 'Withdraw', 1],
		],
	);
	// Record's four inputs: Invite, Withdraw, Report, Unchanged.
	const to = (index: number) => ({ node: 'Record', type: 'main' as never, index });
	workflow.connections.Plan.main[3] = [to(3)];
	workflow.connections.Invite = { main: [[to(0)]] };
	workflow.connections.Withdraw = { main: [[to(1)]] };
	return workflow;
}
