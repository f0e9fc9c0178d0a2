/**
 * workflows/room-mapping.json's room-upgrade branch through n8n's engine: its nodes as the template
 * has them (Commands with Follow Room Upgrades → Follow room upgrade → Notice: room upgraded) behind
 * a real Matrix Command Trigger. The template's Switch (a built-in n8n node this harness does not
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
			]),
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
			body: `A mapped room was upgraded: ${oldRoom} is replaced by ${newRoom}. 1 mapping and 0 invite records moved to the new room, so nobody is invited twice. The bot joined the new room. People already in the old room are not invited to the new one automatically.`,
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
});
