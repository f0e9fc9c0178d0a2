/**
 * Matrix Command Trigger through n8n's TriggerContext, with matrix-js-sdk really syncing against the
 * fake homeserver. (The ESM-only SDK needs NODE_OPTIONS=--experimental-vm-modules under jest.)
 */
import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { trackHandles } from '../fakes/matrix/handles';
import { startFakeHomeserver, type FakeHomeserver } from '../fakes/matrix';
import { startTrigger, wf, type TriggerHandle } from '../harness/engine';

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error('condition not reached in time');
		await new Promise((r) => setTimeout(r, 20));
	}
}

describe('Matrix Command Trigger', () => {
	let hs: FakeHomeserver;
	let bot: ReturnType<FakeHomeserver['createUser']>;
	let mod: ReturnType<FakeHomeserver['createUser']>;
	let roomId: string;
	let creds: { matrixBotApi: ICredentialDataDecryptedObject };
	const handles: TriggerHandle[] = [];

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		bot = hs.createUser('bot', { password: 'pw' });
		mod = hs.createUser('mod');
		roomId = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		creds = {
			matrixBotApi: {
				homeserverUrl: hs.url,
				authMode: 'accessToken',
				accessToken: bot.accessToken,
			},
		};
	});
	afterEach(async () => {
		for (const h of handles.splice(0)) await h.close();
		await hs.stop();
	});

	/** Waits until the listener's long-poll is running, so typed messages are live. */
	const synced = async () => until(() => hs.countRequests({ path: /\/sync$/ }) >= 2);

	const trigger = (parameters: IDataObject = {}, withReply = false) =>
		wf([
			{
				name: 'Commands',
				type: 'matrixCommandTrigger',
				parameters: parameters as never,
				credentials: ['matrixBotApi'],
			},
			...(withReply
				? [
						{
							name: 'Reply',
							type: 'matrixInvite',
							credentials: ['matrixBotApi'],
							parameters: {
								operation: 'message',
								room: '={{ $json.roomId }}',
								text: '={{ "Status: " + $json.args.length + " args" }}',
								messageOptions: { replyTo: '={{ $json.eventId }}' },
							} as never,
						},
					]
				: []),
		]);

	test('a chat command starts the workflow once, with the documented fields', async () => {
		const t = await startTrigger({
			workflow: trigger({}, true),
			node: 'Commands',
			credentials: creds,
		});
		handles.push(t);
		await synced();
		const eventId = hs.say(mod.userId, roomId, '!status now please');
		await t.waitForEmits(1);
		expect(t.emitted[0][0].map((i) => i.json)).toEqual([
			{
				command: 'status',
				args: ['now', 'please'],
				text: 'now please',
				roomId,
				sender: mod.userId,
				role: 'moderator',
				moderatorLevel: 50,
				eventId,
				timestamp: expect.any(String),
			},
		]);
		// The workflow ran: the reply node answered in the room, as a reply to the command.
		await until(() => t.runs.length === 1);
		expect(t.runs[0].status).toBe('success');
		const reply = hs.timeline(roomId, 'm.room.message').find((e) => e.sender === bot.userId);
		expect(reply?.content).toMatchObject({
			msgtype: 'm.notice',
			body: 'Status: 2 args',
			'm.relates_to': { 'm.in_reply_to': { event_id: eventId } },
			'm.mentions': {},
		});
		// Static data carries the sync position and the handled event.
		expect(t.staticData['node:Commands']).toMatchObject({
			syncToken: expect.stringMatching(/^s\d+$/),
			seenEventIds: [eventId],
		});
		await new Promise((r) => setTimeout(r, 200));
		expect(t.emitted).toHaveLength(1);
	});

	test('spec "Threading": a command typed in a thread is answered in that thread; a reply outside threads stays a plain reply', async () => {
		const t = await startTrigger({
			workflow: trigger({}, true),
			node: 'Commands',
			credentials: creds,
		});
		handles.push(t);
		await synced();
		const root = hs.say(mod.userId, roomId, 'Registration questions');
		const inThread = hs.say(mod.userId, roomId, '!status please', { thread: root });
		await t.waitForEmits(1);
		// The trigger names the thread; the template's reply node (Reply To = eventId) is unchanged.
		expect(t.emitted[0][0][0].json).toMatchObject({ eventId: inThread, threadId: root });
		await until(() => t.runs.length === 1);
		const replies = () => hs.timeline(roomId, 'm.room.message').filter((e) => e.sender === bot.userId);
		expect(replies()[0].content['m.relates_to']).toEqual({
			rel_type: 'm.thread',
			event_id: root,
			is_falling_back: true,
			'm.in_reply_to': { event_id: inThread },
		});
		const plain = hs.say(mod.userId, roomId, '!status');
		await t.waitForEmits(2);
		expect(t.emitted[1][0][0].json).not.toHaveProperty('threadId');
		await until(() => replies().length === 2);
		expect(replies()[1].content['m.relates_to']).toEqual({ 'm.in_reply_to': { event_id: plain } });
	});

	test('permissions: refused users get a notice and never reach the workflow; allowlist works', async () => {
		const guest = hs.createUser('guest');
		hs.setMembership(roomId, guest.userId, 'join');
		const t = await startTrigger({
			workflow: trigger({ allowlist: '@friend:localhost' }),
			node: 'Commands',
			credentials: creds,
		});
		handles.push(t);
		await synced();
		hs.say(guest.userId, roomId, '!purge');
		await until(() => hs.timeline(roomId, 'm.room.message').some((e) => e.sender === bot.userId));
		expect(t.emitted).toHaveLength(0);
		const friend = hs.createUser('friend');
		hs.setMembership(roomId, friend.userId, 'join');
		hs.say(friend.userId, roomId, '!stats');
		await t.waitForEmits(1);
		expect(t.emitted[0][0][0].json).toMatchObject({ command: 'stats', sender: friend.userId });
	});

	test('restart with the static data: no replay, new commands still arrive', async () => {
		const first = await startTrigger({ workflow: trigger(), node: 'Commands', credentials: creds });
		handles.push(first);
		await synced();
		hs.say(mod.userId, roomId, '!status');
		await first.waitForEmits(1);
		await first.close();
		handles.splice(handles.indexOf(first), 1);
		const before = hs.countRequests({ path: /\/sync$/ });
		const second = await startTrigger({
			workflow: trigger(),
			node: 'Commands',
			credentials: creds,
			staticData: first.staticData,
		});
		handles.push(second);
		await until(() => hs.countRequests({ path: /\/sync$/ }) >= before + 2);
		const fresh = hs.say(mod.userId, roomId, '!stats');
		await second.waitForEmits(1);
		await new Promise((r) => setTimeout(r, 200));
		expect(second.emitted.map((e) => e[0][0].json.eventId)).toEqual([fresh]);
		// It resumed from the stored position: no initial (token-less) sync the second time.
		const secondSyncs = hs
			.requests()
			.filter((r) => r.path.endsWith('/sync'))
			.slice(before);
		expect(secondSyncs.length).toBeGreaterThan(0);
		expect(secondSyncs.every((r) => new URLSearchParams(r.query).has('since'))).toBe(true);
	});

	test('manual mode resolves on the first command; closing leaves nothing running', async () => {
		const tracker = trackHandles();
		const t = await startTrigger({
			workflow: trigger(),
			node: 'Commands',
			credentials: creds,
			mode: 'manual',
		});
		const manual = t.response?.manualTriggerFunction?.();
		expect(manual).toBeDefined();
		await synced();
		hs.say(mod.userId, roomId, '!help');
		await manual;
		expect(t.emitted).toHaveLength(1);
		await t.close();
		await hs.stop();
		expect(await tracker.settled()).toEqual([]);
		tracker.stop();
		hs = await startFakeHomeserver({ rateLimits: false });
	});

	test('password credential: the trigger reuses the credential login', async () => {
		const password = {
			matrixBotApi: {
				homeserverUrl: hs.url,
				authMode: 'password',
				user: 'bot',
				password: 'pw',
				deviceId: 'N8NDEV',
			},
		};
		const t = await startTrigger({ workflow: trigger(), node: 'Commands', credentials: password });
		handles.push(t);
		await synced();
		hs.say(mod.userId, roomId, '!status');
		await t.waitForEmits(1);
		expect(hs.countRequests({ path: /\/login$/, method: 'POST' })).toBe(1);
	});

	test('a rejected token is reported as a trigger error', async () => {
		const t = await startTrigger({
			workflow: trigger(),
			node: 'Commands',
			credentials: { matrixBotApi: { ...creds.matrixBotApi, accessToken: 'syt_bad' } },
		});
		handles.push(t);
		await until(() => t.errors.length > 0);
		expect(t.errors[0].message).toMatch(/401 M_UNKNOWN_TOKEN/);
		expect(t.errors[0].message).not.toMatch(/syt_|@/);
	});
});
