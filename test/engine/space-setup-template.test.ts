/**
 * workflows/room-mapping.json's `!setroom … --space` branch through n8n's engine: the template's
 * Commands trigger → Set up space → Reply: space set up, against the fake homeserver (its copy of
 * Synapse's state-event power check and of check_restricted_join_rules). The mapping nodes before
 * it (pretix check, Switch and IF — built-in n8n nodes this harness does not load) are left out:
 * they map the space to the event as for any room and then route `--space` commands here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { startFakeHomeserver, type FakeHomeserver } from '../fakes/matrix';
import { runWorkflow, startTrigger, wf, type TriggerHandle } from '../harness/engine';

const template = JSON.parse(
	readFileSync(path.join(__dirname, '../../workflows/room-mapping.json'), 'utf8'),
) as { nodes: Array<{ name: string; type: string; parameters: IDataObject; credentials?: object }> };
const fromTemplate = (name: string) => {
	const node = template.nodes.find((n) => n.name === name)!;
	return { name, type: node.type.replace(/^n8n-nodes-pretix-matrix\./, ''), parameters: node.parameters as never, credentials: Object.keys(node.credentials ?? {}) };
};

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error('condition not reached in time');
		await new Promise((r) => setTimeout(r, 20));
	}
}

describe('room-mapping template: !setroom … --space', () => {
	let hs: FakeHomeserver;
	const handles: TriggerHandle[] = [];
	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
	});
	afterEach(async () => {
		for (const h of handles.splice(0)) await h.close();
		await hs.stop();
	});

	test('children restricted where the bot has the power, the rest reported unchanged; a member of the space joins a child without another invite; an unrelated room untouched', async () => {
		const bot = hs.createUser('bot');
		const mod = hs.createUser('mod');
		const attendee = hs.createUser('attendee');
		const creds: Record<string, ICredentialDataDecryptedObject> = {
			matrixBotApi: { homeserverUrl: hs.url, authMode: 'accessToken', accessToken: bot.accessToken },
		};
		const space = hs.createRoom({ creator: mod.userId, roomType: 'm.space', members: [bot.userId], alias: '#summit:localhost' });
		const room = (alias: string, botLevel = 100) => {
			const id = hs.createRoom({ creator: mod.userId, members: [bot.userId], alias });
			hs.setPowerLevel(id, bot.userId, botLevel);
			return id;
		};
		hs.setPowerLevel(space, bot.userId, 100);
		const talks = room('#talks:localhost');
		const workshops = room('#workshops:localhost');
		const hallway = room('#hallway:localhost', 0);
		const unrelated = room('#unrelated:localhost');
		const stateIds = (roomId: string) => hs.roomState(roomId).map((e) => e.event_id).join(',');
		const unrelatedBefore = stateIds(unrelated);

		const t = await startTrigger({
			workflow: wf([fromTemplate('Commands'), fromTemplate('Set up space'), fromTemplate('Reply: space set up')]),
			node: 'Commands',
			credentials: creds,
		});
		handles.push(t);
		await until(() => hs.countRequests({ path: /\/sync$/ }) >= 2);
		const command = hs.say(mod.userId, space, '!setroom https://pretix.example/acme/summit26/ --space #talks:localhost #workshops:localhost #hallway:localhost');
		const replies = () => hs.timeline(space, 'm.room.message').filter((e) => e.sender === bot.userId);
		await until(() => t.runs.length === 1 && replies().length === 1);
		expect({ status: t.runs[0].status, error: t.runs[0].error?.message }).toEqual({ status: 'success', error: undefined });

		// The reply (to the command) says what changed and what could not be changed, by room.
		const reply = replies()[0].content as IDataObject;
		expect((reply['m.relates_to'] as IDataObject)?.['m.in_reply_to']).toEqual({ event_id: command });
		const lines = String(reply.body).split('\n');
		expect(lines[0]).toBe('Space set-up: 2 rooms changed, 0 already set up, 1 not changed (or not fully):');
		expect(lines[1]).toMatch(/^✅ #talks:localhost: added to the space; now restricted to the space/);
		expect(lines[2]).toMatch(/^✅ #workshops:localhost: added to the space; now restricted to the space/);
		expect(lines[3]).toMatch(/^⚠️ #hallway:localhost: added to the space; join rule unchanged \(was invite\): the bot's power level is too low \(needs 50\)/);

		const joinRule = (roomId: string) => hs.roomState(roomId).find((e) => e.type === 'm.room.join_rules')?.content;
		for (const child of [talks, workshops]) expect(joinRule(child)).toEqual({ join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space }] });
		expect(joinRule(hallway)).toEqual({ join_rule: 'invite' });
		const children = hs.roomState(space).filter((e) => e.type === 'm.space.child').map((e) => e.state_key).sort();
		expect(children).toEqual([talks, workshops, hallway].sort());
		// The unrelated room: no state change, not a child, no message.
		expect(stateIds(unrelated)).toBe(unrelatedBefore);
		expect(hs.timeline(unrelated, 'm.room.message')).toEqual([]);

		// One invite, to the space (Matrix Invite, as the ticket templates send it); the attendee joins
		// the space, then a restricted child without another invite — but not the unrestricted one.
		const invite = await runWorkflow({
			workflow: wf([{ name: 'Invite', type: 'matrixInvite', parameters: { operation: 'invite', rooms: space, userId: attendee.userId } as never, credentials: ['matrixBotApi'] }]),
			credentials: creds,
		});
		expect(invite.status).toBe('success');
		expect(hs.membership(space, attendee.userId)).toBe('invite');
		const join = async (roomId: string) =>
			(await fetch(`${hs.url}/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { method: 'POST', headers: { authorization: `Bearer ${attendee.accessToken}`, 'content-type': 'application/json' }, body: '{}' })).status;
		expect(await join(space)).toBe(200);
		expect(await join(talks)).toBe(200);
		expect(await join(hallway)).toBe(403);
		expect(await join(unrelated)).toBe(403);
		expect([talks, workshops, hallway, unrelated].map((r) => hs.inviteCount(r, attendee.userId))).toEqual([0, 0, 0, 0]);
		expect([talks, workshops, hallway].map((r) => hs.membership(r, attendee.userId))).toEqual(['join', undefined, undefined]);
	});
});
